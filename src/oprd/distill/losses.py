"""The OPRD representation loss on plain tensors (docs/methods/oprd.md, "Loss").

L = mean over layers of [ (1 / sum_t m_t) * sum_t m_t * (1/d) * ||h_s - sg(h_t)||^2 ],
the masked mean pooling every selected position of the batch. The teacher side is detached here,
so callers cannot leak gradient into the teacher by accident. The difference and every mean run in
fp32 whatever the student's dtype: with a bf16 student, rounding the teacher to bf16 before the
difference moves the loss by several percent.

Layout: a list of L per-layer (B, T, d) tensors is unambiguous. A 4-D tensor does not say which of
its first two axes holds the layers, and when L == B no shape check can tell, so a tensor argument
needs ``layout="BLTd"`` or ``layout="LBTd"``; both readings are then checked against the (B, T) mask.
"""

from __future__ import annotations

from typing import Sequence

import torch

from oprd.errors import OprdInputError

LAYOUTS = ("BLTd", "LBTd")


def _stack(states: torch.Tensor | Sequence[torch.Tensor], layout: str | None, mask_shape: tuple[int, int],
           side: str) -> torch.Tensor:
    """(B, L, T, d) in fp32 from a 4-D tensor in ``layout`` or a list of per-layer (B, T, d) tensors."""
    batch, width = mask_shape
    if isinstance(states, torch.Tensor):
        if layout is None:
            raise OprdInputError(
                f"{side} states are a {states.dim()}-D tensor {tuple(states.shape)}: say which axis holds the layers "
                "with layout='BLTd' (batch, layers, tokens, d) or layout='LBTd', or pass a list of per-layer (B, T, d) "
                "tensors"
            )
        if layout not in LAYOUTS:
            raise OprdInputError(f"unknown states layout {layout!r}; use one of {', '.join(LAYOUTS)}")
        if states.dim() != 4:
            raise OprdInputError(f"{side} states must be 4-D ({layout}), got shape {tuple(states.shape)}")
        stacked = states if layout == "BLTd" else states.transpose(0, 1)
    else:
        layers = list(states)
        if not layers:
            raise OprdInputError(f"{side} states are an empty list; pass at least one layer of (B, T, d) states")
        for number, tensor in enumerate(layers):
            if not isinstance(tensor, torch.Tensor) or tensor.dim() != 3:
                shape = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
                raise OprdInputError(f"{side} layer {number} must be a (B, T, d) tensor, got {shape}")
        if len({tuple(t.shape) for t in layers}) > 1:
            raise OprdInputError(f"{side} layers differ in shape: {sorted({tuple(t.shape) for t in layers})}")
        stacked = torch.stack(layers, dim=1)
    if stacked.shape[0] != batch or stacked.shape[2] != width:
        shown = f"(B={stacked.shape[0]}, L={stacked.shape[1]}, T={stacked.shape[2]}, d={stacked.shape[3]})"
        raise OprdInputError(
            f"{side} states read as {shown} do not match the mask (B={batch}, T={width})"
            + ("; the tensor looks like it has the other layout" if stacked.shape[1] == batch else "")
        )
    return stacked.float()


def _check_mask(mask: torch.Tensor) -> tuple[int, int]:
    """``(B, T)`` of a 2-D mask, or a one-line error."""
    if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise OprdInputError(f"the mask must be a (B, T) tensor of 0/1 weights, got {shape}")
    return int(mask.shape[0]), int(mask.shape[1])


def representation_loss(
    student_states: torch.Tensor | Sequence[torch.Tensor],
    teacher_states: torch.Tensor | Sequence[torch.Tensor],
    mask: torch.Tensor,
    *,
    layout: str | None = None,
    normalize: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, cosine)`` between student and teacher hidden states, both fp32.

    ``student_states``/``teacher_states``: L tensors of (B, T, d), or a 4-D tensor laid out as
    ``layout`` ("BLTd" or "LBTd", required for tensors); ``mask``: (B, T), 1 for selected response
    tokens, 0 for prompt/padding. ``normalize=True`` L2-normalises each vector first (the loss is then
    ~1e-4: raise the coefficient). ``cosine`` is the mean cosine similarity over masked positions and
    layers, a detached diagnostic. An all-zero mask gives 0. Gradient flows to the student in its
    own dtype through the fp32 cast.
    """
    mask_shape = _check_mask(mask)
    student = _stack(student_states, layout, mask_shape, "student")
    teacher = _stack(teacher_states, layout, mask_shape, "teacher").detach().to(student.device)
    if student.shape != teacher.shape:
        raise OprdInputError(
            f"student states {tuple(student.shape)} and teacher states {tuple(teacher.shape)} differ (B, L, T, d); "
            "distil the same layers at the same positions on both sides"
        )
    weights = mask.to(device=student.device, dtype=torch.float32).unsqueeze(1)  # (B, 1, T)
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
