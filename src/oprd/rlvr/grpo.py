"""GRPO math on plain tensors: group-relative advantages, the clipped surrogate loss, zero-variance groups.

Numbers in, numbers out: no model, tokenizer or trainer state here, so tests and other components
(GeoMin, OLR, OPRD) call the same definitions the trainer uses.

Conventions
  * Rewards are 1-D, ``n_groups * group_size`` long, the G samples of a prompt contiguous.
  * Token tensors are ``(sequences, tokens)``; ``mask`` is 1 for response tokens that count, 0 for
    padding and for sequences excluded from the loss (dropped groups, masked truncations).
  * Standard deviations are the unbiased sample std (Bessel's correction, ``torch.std`` default),
    the choice TRL's ``GRPOTrainer`` makes, so advantages match TRL numerically.
"""

from __future__ import annotations

import torch

from oprd.errors import param_error

SCALES = ("group", "batch", "none")
AGGREGATIONS = ("token-mean", "seq-mean-token-mean", "dr-grpo")


def group_advantages(rewards: torch.Tensor, group_size: int, *, scale: str = "group",
                     eps: float = 1e-4) -> torch.Tensor:
    """Advantage of every sample relative to its own group.

    ``scale="group"``: ``(r - mean_g) / (std_g + eps)`` (GRPO); ``"batch"``: ``(r - mean_g) / (std_batch + eps)``
    (the group mean is still removed, only the scale is batch-wide); ``"none"``: ``r - mean_g`` (Dr.GRPO,
    which drops the std to avoid up-weighting near-solved and near-impossible prompts).
    A group whose rewards are all equal gets advantage 0 under every scale.
    """
    grouped = _grouped(rewards, group_size, "group_advantages")
    centred = grouped - grouped.mean(dim=1, keepdim=True)
    if scale == "group":
        centred = centred / (grouped.std(dim=1, keepdim=True) + eps)
    elif scale == "batch":
        centred = centred / (grouped.std() + eps)
    elif scale != "none":
        raise param_error("scale", "group_advantages", f"one of {', '.join(SCALES)}", scale)
    return centred.reshape(-1)


def zero_variance_groups(rewards: torch.Tensor, group_size: int, *, atol: float = 1e-6) -> torch.Tensor:
    """Bool tensor, one entry per group: True where all rewards of the group are equal (within ``atol``).

    Such groups have zero advantage and carry no gradient; dynamic sampling (DAPO) drops and refills them.
    """
    grouped = _grouped(rewards, group_size, "zero_variance_groups")
    return (grouped.amax(dim=1) - grouped.amin(dim=1)) <= atol


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    ref_logp: torch.Tensor | None = None,
    beta: float = 0.0,
    eps_low: float = 0.2,
    eps_high: float = 0.28,
    aggregation: str = "token-mean",
    max_len: int | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """PPO clipped surrogate with an optional k3 KL penalty, aggregated over tokens; returns ``(loss, stats)``.

    Per token: ``-min(r A, clip(r, 1 - eps_low, 1 + eps_high) A) + beta * k3`` with ``r = exp(logp - old_logp)``
    and ``k3 = exp(ref - logp) - (ref - logp) - 1`` (unbiased, always >= 0). Aggregations, named as in
    the specs and matching TRL's ``loss_type`` of the same meaning:

    * ``token-mean``: sum over all tokens / number of tokens (DAPO; TRL ``"dapo"`` / ``"bnpo"``).
    * ``seq-mean-token-mean``: mean over sequences of each sequence's token mean (TRL ``"grpo"``).
    * ``dr-grpo``: sum over all tokens / (sequences * ``max_len``) (TRL ``"dr_grpo"``); ``max_len``
      defaults to the mask width, pass the generation limit for a constant normaliser.

    One deliberate difference from TRL: a sequence whose mask is all zero (a dropped group, a masked
    truncation) does not count as a sequence in the two per-sequence normalisers, so excluding a
    sequence never shrinks the weight of the others; with no such rows the values equal TRL's.

    ``stats`` (floats): ``pg_loss`` and ``kl_loss`` (the two aggregated terms; ``loss = pg_loss + kl_loss``),
    ``kl`` (token mean of k3, 0 without ``ref_logp``), ``clip_fraction_low`` / ``clip_fraction_high`` /
    ``clip_fraction`` (share of tokens whose gradient the clip removes: ``r < 1 - eps_low`` with ``A < 0``,
    ``r > 1 + eps_high`` with ``A > 0``) and ``ratio_mean``, all over the tokens the mask keeps.
    """
    _check_loss_inputs(logp, old_logp, advantages, mask, ref_logp, beta, eps_low, eps_high, aggregation, max_len)
    dtype = torch.promote_types(logp.dtype, torch.float32)  # bf16 log-probs: ratios and sums in float32
    logp, old_logp = logp.to(dtype), old_logp.to(dtype)
    weight = mask.to(dtype)
    valid = weight > 0
    ratio = torch.exp(torch.where(valid, logp - old_logp, torch.zeros_like(logp)))
    adv = advantages.to(dtype).unsqueeze(1)
    surrogate = torch.minimum(ratio * adv, ratio.clamp(1.0 - eps_low, 1.0 + eps_high) * adv)
    width = max_len if max_len is not None else logp.shape[1]
    pg_loss = _aggregate(-surrogate, weight, aggregation, width)
    kl_tokens = None
    if ref_logp is not None:
        diff = torch.where(valid, ref_logp.to(dtype) - logp, torch.zeros_like(logp))
        kl_tokens = torch.exp(diff) - diff - 1.0
    kl_loss = beta * _aggregate(kl_tokens, weight, aggregation, width) if beta > 0 else torch.zeros_like(pg_loss)
    loss = pg_loss + kl_loss
    with torch.no_grad():
        low = (ratio < 1.0 - eps_low) & (adv < 0)
        high = (ratio > 1.0 + eps_high) & (adv > 0)
        stats = {
            "pg_loss": float(pg_loss.detach()),
            "kl_loss": float(kl_loss.detach()),
            "kl": _token_mean(kl_tokens, weight) if kl_tokens is not None else 0.0,
            "clip_fraction_low": _token_mean(low, weight),
            "clip_fraction_high": _token_mean(high, weight),
            "clip_fraction": _token_mean(low | high, weight),
            "ratio_mean": _token_mean(ratio, weight),
        }
    return loss, stats


def _grouped(rewards: torch.Tensor, group_size: int, owner: str) -> torch.Tensor:
    """``rewards`` as a float ``(n_groups, group_size)`` view, after checking the shapes."""
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 2:
        raise param_error("group_size", owner, "an int >= 2 (GRPO compares samples within a group)", group_size)
    if rewards.dim() != 1 or rewards.numel() == 0 or rewards.numel() % group_size:
        raise ValueError(
            f"{owner}: rewards must be 1-D with a length that is a multiple of group_size={group_size}; "
            f"got shape {tuple(rewards.shape)}"
        )
    values = rewards if rewards.is_floating_point() else rewards.float()
    return values.view(-1, group_size)


def _aggregate(values: torch.Tensor, weight: torch.Tensor, aggregation: str, max_len: int) -> torch.Tensor:
    """Reduce per-token ``values`` to a scalar under ``aggregation`` (see :func:`policy_loss`)."""
    sums = (values * weight).sum(dim=1)
    if aggregation == "token-mean":
        return sums.sum() / weight.sum().clamp(min=1.0)
    tokens = weight.sum(dim=1)
    n_sequences = (tokens > 0).sum().clamp(min=1)
    if aggregation == "dr-grpo":
        return sums.sum() / (n_sequences * max_len)
    return (sums / tokens.clamp(min=1.0)).sum() / n_sequences


def _token_mean(values: torch.Tensor, weight: torch.Tensor) -> float:
    return float((values.to(weight.dtype) * weight).sum() / weight.sum().clamp(min=1.0))


def _check_loss_inputs(logp, old_logp, advantages, mask, ref_logp, beta, eps_low, eps_high, aggregation,
                       max_len) -> None:
    """Bad knobs raise the one-line parameter error; mismatched tensor shapes (a caller bug) a ValueError."""
    owner = "policy_loss"
    if aggregation not in AGGREGATIONS:
        raise param_error("aggregation", owner, f"one of {', '.join(AGGREGATIONS)}", aggregation)
    if not 0.0 <= eps_low < 1.0:
        raise param_error("eps_low", owner, "a float in [0, 1)", eps_low)
    if eps_high < 0.0:
        raise param_error("eps_high", owner, "a float >= 0", eps_high)
    if beta < 0.0:
        raise param_error("beta", owner, "a float >= 0", beta)
    if beta > 0.0 and ref_logp is None:
        raise param_error("ref_logp", owner, "the reference model's token log-probs when beta > 0", None)
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
        raise param_error("max_len", owner, "None or an int >= 1", max_len)
    if logp.dim() != 2:
        raise ValueError(f"{owner}: logp must be (sequences, tokens); got shape {tuple(logp.shape)}")
    for name, tensor in (("old_logp", old_logp), ("mask", mask), ("ref_logp", ref_logp)):
        if tensor is not None and tensor.shape != logp.shape:
            raise ValueError(f"{owner}: {name} has shape {tuple(tensor.shape)}, logp has {tuple(logp.shape)}")
    if advantages.shape != (logp.shape[0],):
        raise ValueError(
            f"{owner}: advantages must be ({logp.shape[0]},), one per sequence; got {tuple(advantages.shape)}"
        )
