"""Teacher-forced outputs of a policy on its rollouts, computed inside one module's own forward.

:class:`PolicyModule` wraps the causal LM, and it is what DDP or FSDP2 wraps: every training
forward is a call of the wrapped module, so DDP all-reduces gradients and FSDP2 unshards the root
unit (embeddings, final norm, LM head). Inside, the decoder body runs over prompt+response
(right-padded) and the LM head only on the positions that predict response tokens, so no
(batch x full sequence x vocab) logits tensor is built; with log-probs not asked for (hidden-state
distillation alone) the head does not run at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from oprd.generation.base import Rollout


@dataclass
class TokenBatch:
    """Right-padded sequences and the positions of their response tokens.

    ``targets``/``mask`` are (B, R) with R the longest response; ``predict_at[b, t]`` is the sequence
    position whose output predicts response token t.
    """

    input_ids: torch.Tensor
    attention_mask: "torch.Tensor"
    targets: "torch.Tensor"
    predict_at: "torch.Tensor"
    mask: "torch.Tensor"

    @classmethod
    def from_rollouts(cls, rollouts: Sequence[Rollout], pad_id: int, device=None) -> "TokenBatch":
        width = max(len(r.prompt_ids) + len(r.response_ids) for r in rollouts)
        longest = max(max(len(r.response_ids) for r in rollouts), 1)
        input_ids = torch.full((len(rollouts), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(rollouts), width), dtype=torch.long)
        targets = torch.full((len(rollouts), longest), pad_id, dtype=torch.long)
        predict_at = torch.zeros((len(rollouts), longest), dtype=torch.long)
        mask = torch.zeros((len(rollouts), longest), dtype=torch.float32)
        for row, rollout in enumerate(rollouts):
            seq = rollout.prompt_ids + rollout.response_ids
            input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            attention[row, : len(seq)] = 1
            p, r = len(rollout.prompt_ids), len(rollout.response_ids)
            if r:
                targets[row, :r] = torch.tensor(rollout.response_ids, dtype=torch.long)
                predict_at[row, :r] = torch.arange(p - 1, p - 1 + r)
                mask[row, :r] = 1.0
        batch = cls(input_ids, attention, targets, predict_at, mask)
        return batch.to(device) if device is not None else batch

    def to(self, device) -> "TokenBatch":
        return TokenBatch(*(t.to(device) for t in (self.input_ids, self.attention_mask, self.targets,
                                                    self.predict_at, self.mask)))


@dataclass
class PolicyOutputs:
    """What one forward gives the loss and the components.

    ``logp`` (B, R): log-probabilities of the response tokens at the sampling temperature, 0 where
    the mask is 0 (None when not asked). ``logits`` (B, R, V, float, temperature not applied) at the
    positions that predict response tokens, when asked. ``hidden_states``: the body's
    ``output_hidden_states`` when asked (0 = embeddings, i = block i, the last after the final norm).
    ``anchor``: a zero that depends on every block, added to the loss so every rank's backward
    reaches the same parameters whatever terms follow.
    """

    logp: torch.Tensor | None
    logits: torch.Tensor | None = None
    hidden_states: "tuple | None" = None
    anchor: torch.Tensor | None = None


class PolicyModule(torch.nn.Module):
    """The causal LM ``lm`` with a forward that returns what the trainer needs (see the module doc).

    It shares the LM's parameters; DDP or FSDP2 wrap this module, never the LM's inner parts.
    ``chunk_size``: response tokens (rows x positions) whose logits exist at once when only log-probs are asked for
    (each chunk's logits are recomputed in the backward pass instead of kept, so peak memory does not
    grow with response length x vocabulary); 0 computes all positions at once.
    ``autocast``: run the forward in bfloat16 autocast over float32 weights (log-probs stay float32).
    """

    def __init__(self, lm, *, chunk_size: int = 0, autocast: bool = False) -> None:
        super().__init__()
        self.lm = lm
        self.chunk_size = chunk_size
        self.autocast = autocast

    def forward(self, input_ids, attention_mask, predict_at, targets, mask, *, temperature: float = 1.0,
                logprobs: bool = True, logits: bool = False, hidden_states: bool = False) -> dict:
        """A dict (a pytree, so DDP and FSDP2 see its tensors) with the fields of :class:`PolicyOutputs`."""
        with torch.autocast(input_ids.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            out = self.lm.get_decoder()(input_ids=input_ids, attention_mask=attention_mask, use_cache=False,
                                        output_hidden_states=hidden_states)
            last = out.last_hidden_state
            result = {"anchor": last.sum().float() * 0.0,
                      "hidden_states": tuple(out.hidden_states) if hidden_states else None, "logp": None, "logits": None}
            if not (logprobs or logits):
                return result
            rows = torch.arange(last.shape[0], device=last.device).unsqueeze(1)
            picked = last[rows, predict_at]  # (B, R, d): only the positions that predict response tokens
            head = self.lm.get_output_embeddings()
            if logits:
                full = head(picked).float()
                result["logits"] = full
                result["logp"] = _chosen_logprobs(full, targets, temperature) * mask
                return result
            result["logp"] = chunked_logprobs(head, picked, targets, temperature, self.chunk_size) * mask
        return result


def _chosen_logprobs(logits: torch.Tensor, targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """log p(target) from logits (..., V) at ``temperature``, in float32: the chosen logit minus logsumexp."""
    logits = logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    return logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def _head_logprobs(head, hidden: torch.Tensor, targets: torch.Tensor, temperature: float) -> torch.Tensor:
    return _chosen_logprobs(head(hidden), targets, temperature)


def chunked_logprobs(head, hidden: torch.Tensor, targets: torch.Tensor, temperature: float,
                     chunk_size: int) -> torch.Tensor:
    """(B, R) log-probabilities of ``targets`` from hidden states (B, R, d), about ``chunk_size`` tokens
    (rows x positions) at a time (0 = all at once). With gradient, each chunk is recomputed in the
    backward pass, so at most one chunk's logits (about chunk_size x V) are alive at any moment,
    whatever the micro-batch size."""
    from torch.utils.checkpoint import checkpoint

    rows, width = hidden.shape[0], hidden.shape[1]
    positions = max(1, chunk_size // max(rows, 1))
    if chunk_size <= 0 or positions >= width:
        return _head_logprobs(head, hidden, targets, temperature)
    pieces = []
    for start in range(0, width, positions):
        part = (head, hidden[:, start : start + positions], targets[:, start : start + positions], temperature)
        if torch.is_grad_enabled():
            pieces.append(checkpoint(_head_logprobs, *part, use_reentrant=False))
        else:
            pieces.append(_head_logprobs(*part))
    return torch.cat(pieces, dim=1)


def policy_forward(module, batch: TokenBatch, *, temperature: float = 1.0, logprobs: bool = True,
                   hidden_states: bool = False, logits: bool = False) -> PolicyOutputs:
    """One call of ``module`` over ``batch``; see :class:`PolicyOutputs`.

    ``module`` is a :class:`PolicyModule`, one wrapped by DDP / FSDP2, or a bare causal LM (a
    frozen reference or a test's model), which gets a :class:`PolicyModule` around it for the call.
    """
    if not isinstance(getattr(module, "module", module), PolicyModule):
        module = PolicyModule(module)
    out = module(batch.input_ids, batch.attention_mask, batch.predict_at, batch.targets, batch.mask,
                 temperature=temperature, logprobs=logprobs, logits=logits, hidden_states=hidden_states)
    return PolicyOutputs(**out)


def response_means(hidden_states: Sequence, batch: TokenBatch, layers: Sequence[int]) -> dict:
    """{layer: (B, d) float, detached}: each layer's hidden states averaged over the response tokens."""
    rows = torch.arange(batch.input_ids.shape[0], device=batch.input_ids.device).unsqueeze(1)
    count = batch.mask.sum(dim=1, keepdim=True).clamp(min=1.0)
    means = {}
    for layer in layers:
        states = hidden_states[layer][rows, batch.predict_at + 1].detach().float()  # response token positions
        means[layer] = (states * batch.mask.unsqueeze(-1)).sum(dim=1) / count
    return means


def states_at(hidden_states: Sequence, layers: Sequence[int], index) -> "torch.Tensor":
    """(B, len(layers), K, d) hidden states of ``layers`` at sequence positions ``index`` (B, K)."""
    index = index.to(hidden_states[0].device)
    rows = torch.arange(index.shape[0], device=index.device).unsqueeze(1)
    return torch.stack([hidden_states[layer][rows, index] for layer in layers], dim=1)
