"""Paired student/teacher hidden states on the student's rollouts, the training data of the Bridge.

Both models are frozen. Positions follow the training positions spec and are paired the same way
training pairs them (suffix or prefix index, so re-tokenised teachers line up); a few positions per
rollout are kept at random (seeded) so ~2000 rollouts fit in memory for every layer pair.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from oprd.distill.batching import pack_sequences, split_rows
from oprd.distill.positions import PositionSpec
from oprd.distill.states import gather_states
from oprd.distill.teacher import Teacher
from oprd.generation.base import Rollout


def collect_pairs(student, student_pad_id: int, teacher: Teacher, rollouts: Sequence[Rollout], prompts: Sequence[Any],
                  pairs: Sequence[tuple[int, int]], spec: PositionSpec, *, tokens_per_rollout: int = 8,
                  batch_size: int = 8, seed: int = 0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``(student, teacher)``: per layer pair, (N, d_s) and (N, d_t) states at the same N positions."""
    generator = torch.Generator().manual_seed(seed)
    student_layers = [s for s, _ in pairs]
    teacher_layers = [t for _, t in pairs]
    device = next(student.parameters()).device
    kept_s: list[torch.Tensor] = []
    kept_t: list[torch.Tensor] = []
    for start in range(0, len(rollouts), batch_size):
        chunk = list(rollouts[start : start + batch_size])
        own = [(list(r.prompt_ids), list(r.response_ids)) for r in chunk]
        input_ids, attention, starts, lengths = pack_sequences(own, student_pad_id, device)
        index, valid = spec.select(starts, lengths)
        with torch.no_grad():
            states = gather_states(student, input_ids, attention, student_layers, index).float().cpu()
        student_rows = split_rows(states, valid, suffix=spec.suffix_aligned)
        teacher_rows = teacher.states(teacher.sequences(chunk, prompts[start : start + batch_size]), teacher_layers, spec)
        for s_row, t_row in zip(student_rows, teacher_rows):
            common = min(s_row.shape[1], t_row.shape[1])
            if common == 0:
                continue
            s_row, t_row = _align(s_row, common, spec.suffix_aligned), _align(t_row.float().cpu(), common, spec.suffix_aligned)
            columns = torch.randperm(common, generator=generator)[:tokens_per_rollout]
            kept_s.append(s_row[:, columns])
            kept_t.append(t_row[:, columns])
    if not kept_s:
        return [], []
    student_all, teacher_all = torch.cat(kept_s, dim=1), torch.cat(kept_t, dim=1)  # (P, N, d)
    return list(student_all.unbind(0)), list(teacher_all.unbind(0))


def _align(block: torch.Tensor, count: int, suffix: bool) -> torch.Tensor:
    """The ``count`` positions of a (P, K, d) block that pair with the other side's."""
    return block[:, block.shape[1] - count :] if suffix else block[:, :count]
