"""On-policy distillation (OPD) baselines on plain tensors: reverse KL to the teacher, three ways.

* ``top1``: the sampled-token estimate. Per-token advantage ``log q(y_t) - log p(y_t)`` (detached)
  in a policy-gradient surrogate ``-A_t log p(y_t)``: no group normalisation, no discount.
* ``topk``: over the student's top-k tokens S_t, ``sum_{v in S_t} p(v) [log p(v) - log q(v)]`` with
  both distributions renormalised on S_t.
* ``full``: the exact reverse KL over the whole vocabulary (memory O(B T |V|)).

Every loss is a masked mean over response tokens; the teacher side is always detached.
"""

from __future__ import annotations

import torch

OPD_KINDS = ("top1", "topk", "full")


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(device=values.device, dtype=values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def _sampled_logprobs(values: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
    """(B, T) log-probabilities of the sampled tokens from (B, T) log-probs or (B, T, V) logits."""
    if values.dim() == 2:
        return values
    if targets is None:
        raise ValueError("top1 OPD on (B, T, V) logits needs the sampled token ids (targets)")
    return torch.log_softmax(values.float(), dim=-1).gather(-1, targets.unsqueeze(-1).to(values.device)).squeeze(-1)


def student_topk(student_logits: torch.Tensor, k: int) -> torch.Tensor:
    """(B, T, k) ids of the student's k most likely tokens: the set S_t of top-k OPD (no gradient)."""
    return student_logits.detach().topk(min(k, student_logits.shape[-1]), dim=-1).indices


def opd_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    mask: torch.Tensor,
    *,
    kind: str = "topk",
    k: int = 16,
    targets: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, reverse_kl)`` of the student against the teacher on response tokens.

    ``top1``: ``student``/``teacher`` are (B, T) log-probs of the sampled tokens (or (B, T, V) logits
    with ``targets``). ``topk``/``full``: (B, T, V) logits; for ``topk`` the teacher may instead be
    (B, T, k) logits already read at :func:`student_topk` ids (pass full logits when k >= |V|).
    ``reverse_kl`` is a detached diagnostic: the sampled-token estimate for ``top1``, the loss itself
    otherwise.
    """
    if kind not in OPD_KINDS:
        raise ValueError(f"unknown OPD kind {kind!r}; use one of {', '.join(OPD_KINDS)}")
    teacher = teacher.detach().to(student.device)
    if kind == "top1":
        logp = _sampled_logprobs(student, targets)
        logq = _sampled_logprobs(teacher, targets).to(logp.dtype)
        advantage = (logq - logp).detach()
        return _masked_mean(-advantage * logp, mask), _masked_mean(-advantage, mask)
    if kind == "full":
        logp = torch.log_softmax(student.float(), dim=-1)
        logq = torch.log_softmax(teacher.float(), dim=-1)
        kl = (logp.exp() * (logp - logq)).sum(dim=-1)
        loss = _masked_mean(kl, mask)
        return loss, loss.detach()
    index = student_topk(student, k)
    teacher_at = teacher if teacher.shape[-1] != student.shape[-1] else teacher.gather(-1, index)
    if teacher_at.shape != index.shape:
        raise ValueError(f"top-k teacher logits {tuple(teacher_at.shape)} do not match the student's top-{k} "
                         f"{tuple(index.shape)}")
    logp = torch.log_softmax(student.gather(-1, index).float(), dim=-1)
    logq = torch.log_softmax(teacher_at.float(), dim=-1)
    kl = (logp.exp() * (logp - logq)).sum(dim=-1)
    loss = _masked_mean(kl, mask)
    return loss, loss.detach()
