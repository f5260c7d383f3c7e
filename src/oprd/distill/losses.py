"""The OPRD representation loss on plain tensors (specs/oprd.md, "Loss").

L = mean over layers of [ (1 / sum_t m_t) * sum_t m_t * (1/d) * ||h_s - sg(h_t)||^2 ],
the masked mean pooling every selected position of the batch. The teacher side is detached here,
so callers cannot leak gradient into the teacher by accident.
"""

from __future__ import annotations

from typing import Sequence

import torch


def _stack(states: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """(B, L, T, d) from a tensor of that shape or a list of per-layer (B, T, d) tensors."""
    if isinstance(states, torch.Tensor):
        return states
    return torch.stack(list(states), dim=1)


def representation_loss(
    student_states: torch.Tensor | Sequence[torch.Tensor],
    teacher_states: torch.Tensor | Sequence[torch.Tensor],
    mask: torch.Tensor,
    *,
    normalize: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, cosine)`` between student and teacher hidden states.

    ``student_states``/``teacher_states``: (B, L, T, d) or L tensors of (B, T, d); ``mask``: (B, T),
    1 for selected response tokens, 0 for prompt/padding. ``normalize=True`` L2-normalises each
    vector first (the loss is then ~1e-4: raise the coefficient). ``cosine`` is the mean cosine
    similarity over masked positions and layers, a detached diagnostic. An all-zero mask gives 0.
    """
    student = _stack(student_states)
    teacher = _stack(teacher_states).detach().to(device=student.device, dtype=student.dtype)
    if student.shape != teacher.shape:
        raise ValueError(f"student states {tuple(student.shape)} and teacher states {tuple(teacher.shape)} differ")
    weights = mask.to(device=student.device, dtype=student.dtype).unsqueeze(1)  # (B, 1, T)
    count = weights.sum()  # masked positions, the same for every layer
    if normalize:
        student = torch.nn.functional.normalize(student, dim=-1)
        teacher = torch.nn.functional.normalize(teacher, dim=-1)
    per_position = (student - teacher).pow(2).mean(dim=-1)  # (B, L, T)
    per_layer = (per_position * weights).sum(dim=(0, 2)) / count.clamp(min=1.0)
    with torch.no_grad():
        cosine = torch.nn.functional.cosine_similarity(student, teacher, dim=-1)
        cosine = ((cosine * weights).sum(dim=(0, 2)) / count.clamp(min=1.0)).mean()
    return per_layer.mean(), cosine
