"""Teacher-forced log-probabilities of rollout tokens under a policy, computed only where needed.

The decoder body runs over prompt+response (right-padded); the LM head runs only on the positions
that predict response tokens, so no (batch x full sequence x vocab) logits tensor is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from oprd.generation.base import Rollout


@dataclass
class TokenBatch:
    """Right-padded sequences and the positions of their response tokens.

    ``targets``/``mask`` are (B, R) with R the longest response; ``predict_at[b, t]`` is the sequence
    position whose output predicts response token t.
    """

    input_ids: "torch.Tensor"
    attention_mask: "torch.Tensor"
    targets: "torch.Tensor"
    predict_at: "torch.Tensor"
    mask: "torch.Tensor"

    @classmethod
    def from_rollouts(cls, rollouts: Sequence[Rollout], pad_id: int, device=None) -> "TokenBatch":
        import torch

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


def decoder_and_head(model):
    """The decoder body and LM head of a causal LM (unwrapping DDP/FSDP containers)."""
    inner = getattr(model, "module", model)
    body = inner.get_decoder() if hasattr(inner, "get_decoder") else inner.model
    return body, inner.get_output_embeddings()


def token_logprobs(model, batch: TokenBatch, *, temperature: float = 1.0, hidden_layers: Sequence[int] = ()):
    """Log-probabilities (B, R) of the response tokens at ``temperature``; zeros where ``mask`` is 0.

    With ``hidden_layers`` (indices into ``hidden_states``), also returns {layer: (B, d)} means of
    those hidden states over each response's tokens, read from this same forward.
    """
    import torch

    body, head = decoder_and_head(model)
    want_hidden = bool(hidden_layers)
    outputs = body(input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False,
                   output_hidden_states=want_hidden)
    hidden = outputs.last_hidden_state
    rows = torch.arange(hidden.shape[0], device=hidden.device).unsqueeze(1)
    picked = hidden[rows, batch.predict_at]  # (B, R, d)
    logits = head(picked).float()
    if temperature != 1.0:
        logits = logits / temperature
    logp = torch.log_softmax(logits, dim=-1).gather(-1, batch.targets.unsqueeze(-1)).squeeze(-1)
    logp = logp * batch.mask
    if not want_hidden:
        return logp
    means = {}
    count = batch.mask.sum(dim=1, keepdim=True).clamp(min=1.0)
    for layer in hidden_layers:
        states = outputs.hidden_states[layer][rows, batch.predict_at + 1]  # response token positions
        means[layer] = ((states * batch.mask.unsqueeze(-1)).sum(dim=1) / count).detach().float()
    return logp, means
