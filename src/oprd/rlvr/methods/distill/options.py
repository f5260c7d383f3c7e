"""The distillation keys of GRPOConfig: allowed values and their checks (docs/methods/oprd.md).

``reward_funcs: [none]`` (``oprd-train --reward none``) turns the verifiable reward off: no rewards,
advantages or policy-gradient forward; only the distillation loss trains (the paper's setting).

``distill`` names one loss or a combination (``opd-top1,oprd`` = the spec's OPD + mu * OPRD), with
one coefficient per term in ``distill_coef`` (``1.0,0.5``); unset, every term weighs 1.0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from oprd.errors import OprdInputError, param_error

DISTILL_KINDS = ("oprd", "opd-top1", "opd-topk", "opd-full")
NO_REWARD = "none"


@dataclass(frozen=True)
class DistillTerm:
    """One distillation loss and its weight in the total."""

    kind: str
    coef: float

    @property
    def family(self) -> str:
        """``oprd`` (hidden states) or ``opd`` (next-token distributions): which teacher targets it reads."""
        return "oprd" if self.kind == "oprd" else "opd"


def distill_kinds(value: str | Sequence[str]) -> list[str]:
    """``"opd-top1,oprd"`` or ``["opd-top1", "oprd"]`` -> checked, distinct kinds in the given order."""
    items = value.split(",") if isinstance(value, str) else list(value)
    kinds = [item.strip() if isinstance(item, str) else item for item in items]
    if not kinds:
        raise param_error("distill", "GRPOConfig", f"one of {', '.join(DISTILL_KINDS)}, or several joined by commas",
                          value)
    for kind in kinds:
        if kind not in DISTILL_KINDS:
            raise param_error("distill", "GRPOConfig", f"one of {', '.join(DISTILL_KINDS)}, or several joined by commas",
                              kind)
    repeated = sorted({kind for kind in kinds if kinds.count(kind) > 1})
    if repeated:
        raise OprdInputError(f"--distill names {', '.join(repeated)} more than once; give each loss once and its "
                             "weight in --distill-coef")
    return kinds


def distill_terms(kinds: str | Sequence[str], coef: float | Sequence[float] | None) -> list[DistillTerm]:
    """Kinds paired with their coefficients: None = 1.0 each; a number needs one kind; a list one value per kind."""
    names = distill_kinds(kinds)
    if coef is None:
        values = [1.0] * len(names)
    elif isinstance(coef, (int, float)) and not isinstance(coef, bool):
        if len(names) > 1:
            raise OprdInputError(
                f"--distill {','.join(names)} combines {len(names)} losses but --distill-coef gives one value ({coef}); "
                f"give one per loss in the same order, e.g. --distill-coef {','.join(['1.0'] * len(names))}"
            )
        values = [coef]
    else:
        values = list(coef)
        if len(values) != len(names):
            raise OprdInputError(
                f"--distill {','.join(names)} has {len(names)} losses but --distill-coef has {len(values)} values; "
                "give one coefficient per loss, in the same order"
            )
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise param_error("distill_coef", "GRPOConfig", "a float >= 0, or one per loss", coef)
    return [DistillTerm(kind, float(value)) for kind, value in zip(names, values)]


def coef_flag(text: str | None) -> float | list[float] | None:
    """``--distill-coef 0.5`` -> 0.5, ``1.0,0.5`` -> [1.0, 0.5]; anything else is a one-line error."""
    if text is None:
        return None
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise OprdInputError(f"--distill-coef takes a number or comma-separated numbers (1.0,0.5); got {text!r}") from None
    return values[0] if len(values) == 1 else values


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
    terms = distill_terms(config.distill, config.distill_coef)
    kinds = ",".join(term.kind for term in terms)
    if not config.teacher:
        raise OprdInputError(f"--distill {kinds} needs a teacher: pass --teacher MODEL (name, dir or hub id)")
    if config.bridge is not None and all(term.kind != "oprd" for term in terms):
        raise OprdInputError("--bridge applies to hidden states: use it with --distill oprd")
    if not isinstance(config.distill_topk, int) or config.distill_topk < 1:
        raise param_error("distill_topk", owner, "an int >= 1", config.distill_topk)
    if config.distill_layer_map not in LAYER_MAPS:
        raise param_error("distill_layer_map", owner, f"one of {', '.join(LAYER_MAPS)}", config.distill_layer_map)
    if config.distill_store_dtype not in STORE_DTYPES:
        raise param_error("distill_store_dtype", owner, f"one of {', '.join(STORE_DTYPES)}", config.distill_store_dtype)
    parse_positions(config.distill_positions)
