"""The distillation keys of GRPOConfig: allowed values and their checks (specs/oprd.md).

``reward_funcs: [none]`` (``oprd-train --reward none``) turns the verifiable reward off: no rewards,
advantages or policy-gradient forward; only the distillation loss trains (the paper's setting).
"""

from __future__ import annotations

from oprd.errors import OprdInputError, param_error

DISTILL_KINDS = ("oprd", "opd-top1", "opd-topk", "opd-full")
NO_REWARD = "none"


def rewards_off(config) -> bool:
    """True when the run trains on the distillation loss alone."""
    return list(config.reward_funcs) == [NO_REWARD]


def reward_funcs_flag(reward: str | None, reward_func: list[str] | None) -> list[str] | None:
    """``--reward none`` -> ``["none"]``; otherwise the ``--reward-func`` paths (or None: not given)."""
    if reward is None:
        return reward_func or None
    if reward != NO_REWARD or reward_func:
        raise OprdInputError(
            f"--reward accepts only 'none' (train on the distillation loss alone) and cannot be combined with "
            f"--reward-func; got --reward {reward!r}"
        )
    return [NO_REWARD]


def validate_distill(config) -> None:
    """Reject bad distillation keys, naming the key and what to set instead."""
    from oprd.distill.layer_map import LAYER_MAPS
    from oprd.distill.positions import parse_positions
    from oprd.distill.teacher import STORE_DTYPES

    owner = "GRPOConfig"
    if NO_REWARD in config.reward_funcs and not rewards_off(config):
        raise OprdInputError("reward_funcs 'none' cannot be combined with other reward functions; use it alone")
    if config.distill is None:
        if config.teacher is not None or config.bridge is not None:
            raise OprdInputError("--teacher/--bridge need a loss: pass --distill oprd, opd-top1, opd-topk or opd-full")
        if rewards_off(config):
            raise OprdInputError("--reward none trains only the distillation loss; pass --teacher MODEL and --distill oprd")
        return
    if config.distill not in DISTILL_KINDS:
        raise param_error("distill", owner, f"one of {', '.join(DISTILL_KINDS)}", config.distill)
    if not config.teacher:
        raise OprdInputError(f"--distill {config.distill} needs a teacher: pass --teacher MODEL (name, dir or hub id)")
    if config.bridge is not None and config.distill != "oprd":
        raise OprdInputError("--bridge applies to hidden states: use it with --distill oprd")
    if not isinstance(config.distill_coef, (int, float)) or config.distill_coef < 0:
        raise param_error("distill_coef", owner, "a float >= 0", config.distill_coef)
    if not isinstance(config.distill_topk, int) or config.distill_topk < 1:
        raise param_error("distill_topk", owner, "an int >= 1", config.distill_topk)
    if config.distill_layer_map not in LAYER_MAPS:
        raise param_error("distill_layer_map", owner, f"one of {', '.join(LAYER_MAPS)}", config.distill_layer_map)
    if config.distill_store_dtype not in STORE_DTYPES:
        raise param_error("distill_store_dtype", owner, f"one of {', '.join(STORE_DTYPES)}", config.distill_store_dtype)
    parse_positions(config.distill_positions)
