"""The frozen teacher: one no-grad forward over the student's rollouts, keeping only what the loss needs.

For OPRD it keeps the selected layers at the selected response positions (optionally projected by a
Bridge), per rollout as (P, K_i, d); for OPD it keeps the final (normed) hidden state at the positions
that predict response tokens, (R_i, d), and turns it into logits only when the loss asks, and then
only for the token ids asked for. Targets can be stored in bf16 and offloaded to CPU between the
teacher pass and the student update.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from oprd.distill.batching import pack_sequences, split_rows
from oprd.distill.positions import PositionSpec
from oprd.distill.retokenize import same_tokenizer, teacher_sequence
from oprd.distill.states import gather_states
from oprd.generation.base import Rollout
from oprd.models.chat import DEFAULT_REASONING_TEMPLATE

STORE_DTYPES = ("float32", "bfloat16")


class Teacher:
    """A teacher model and tokenizer, frozen, with the student's tokenizer to decide re-tokenisation."""

    def __init__(self, model, tokenizer, *, student_tokenizer, template: str = DEFAULT_REASONING_TEMPLATE,
                 store_dtype: str = "float32", offload: bool = False, batch_size: int = 8) -> None:
        self.model = model.requires_grad_(False).eval()
        self.tokenizer = tokenizer
        self.shares_tokens = same_tokenizer(student_tokenizer, tokenizer)
        self.template = template
        self.store_dtype = getattr(torch, store_dtype)
        self.offload = offload
        self.batch_size = batch_size

    @property
    def depth(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def width(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def sequences(self, rollouts: Sequence[Rollout], prompts: Sequence[Any]) -> list[tuple[list[int], list[int]]]:
        """Teacher-side (prompt_ids, response_ids): the student's own ids, or re-tokenised text."""
        if self.shares_tokens:
            return [(list(r.prompt_ids), list(r.response_ids)) for r in rollouts]
        return [teacher_sequence(r, p, self.tokenizer, template=self.template) for r, p in zip(rollouts, prompts)]

    def states(self, sequences: Sequence[tuple[list[int], list[int]]], layers: Sequence[int], spec: PositionSpec,
               project=None) -> list[torch.Tensor]:
        """Per rollout (P, K_i, d) states of ``layers`` at ``spec`` positions (``project`` maps (B,P,K,d))."""
        out: list[torch.Tensor] = []
        with torch.no_grad():
            for start in range(0, len(sequences), self.batch_size):
                chunk = sequences[start : start + self.batch_size]
                input_ids, attention, starts, lengths = pack_sequences(chunk, self._pad_id, self.device)
                index, valid = spec.select(starts, lengths)
                states = gather_states(self.model, input_ids, attention, layers, index).float()
                if project is not None:
                    states = project(states)
                out.extend(self._store(row) for row in split_rows(states, valid, suffix=spec.suffix_aligned))
        return out

    def final_states(self, sequences: Sequence[tuple[list[int], list[int]]]) -> list[torch.Tensor]:
        """Per rollout (R_i, d): the last hidden state (after the final norm) where each response token is predicted."""
        out: list[torch.Tensor] = []
        with torch.no_grad():
            for start in range(0, len(sequences), self.batch_size):
                chunk = sequences[start : start + self.batch_size]
                input_ids, attention, starts, lengths = pack_sequences(chunk, self._pad_id, self.device)
                width = max(int(lengths.max()), 1)
                offsets = torch.arange(width, device=starts.device).unsqueeze(0)
                index = (starts.unsqueeze(1) - 1 + offsets).clamp(min=0, max=input_ids.shape[1] - 1)
                states = gather_states(self.model, input_ids, attention, [self.depth], index)[:, 0]
                out.extend(self._store(states[row, : int(lengths[row])]) for row in range(len(chunk)))
        return out

    def logits(self, final: torch.Tensor, token_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher logits from final states (B, R, d): over the vocabulary, or (B, R, k) at ``token_ids``.

        Reading only k rows of the LM head keeps top-k OPD at O(B R k d) instead of O(B R |V|).
        """
        head = self.model.get_output_embeddings()
        final = final.to(device=self.device, dtype=head.weight.dtype)
        with torch.no_grad():
            if token_ids is None:
                return head(final).float()
            ids = token_ids.to(self.device)
            logits = torch.einsum("brd,brkd->brk", final, head.weight[ids])
            if getattr(head, "bias", None) is not None:
                logits = logits + head.bias[ids]
            return logits.float()

    @property
    def _pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return pad if pad is not None else 0

    def _store(self, tensor: torch.Tensor) -> torch.Tensor:
        """A compact copy (a row view would keep its whole batch alive), on CPU when offloading."""
        device = "cpu" if self.offload else tensor.device
        return tensor.detach().to(device=device, dtype=self.store_dtype, copy=True)
