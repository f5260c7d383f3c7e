"""The unlabeled-reward menu of ``oprd-train``: which component trains rows that have no answer.

``geomin`` (hidden-state prior, rlvr/geomin_component.py), ``ttrl`` (majority vote,
``MajorityVoteLabels`` in rlvr/components.py), ``trapo`` (trajectory-matched selection,
rlvr/trapo.py), ``self-certainty`` / ``entropy`` (label-free self-rewards, rlvr/self_rewards.py),
``none`` (unlabeled rows ignored). Method knobs arrive as ``unlabeled_options`` (YAML mapping or
``--unlabeled-option KEY=VALUE``) and are checked against the method's options dataclass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

from oprd.errors import OprdInputError
from oprd.rlvr.components import StepComponent
from oprd.rlvr.geomin import GeoMinOptions
from oprd.rlvr.trapo import TraPOOptions

_OPTIONS = {"geomin": GeoMinOptions, "trapo": TraPOOptions}


def method_options(method: str, options: Mapping[str, Any] | None) -> GeoMinOptions | TraPOOptions | None:
    """The validated options object of ``method`` (None for methods without knobs)."""
    options = dict(options or {})
    cls = _OPTIONS.get(method)
    if cls is None:
        if options:
            raise OprdInputError(
                f"unlabeled_options {sorted(options)} given, but unlabeled_reward {method!r} takes no options; "
                f"only {', '.join(_OPTIONS)} do"
            )
        return None
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise OprdInputError(f"unknown {method} option(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return cls(**options).validate()


def parse_option_flags(items: Iterable[str] | None, *, flag: str = "--unlabeled-option",
                       example: str = "decay=0.8") -> dict[str, Any]:
    """``["decay=0.8", "boundary_only=false"]`` -> ``{"decay": 0.8, "boundary_only": False}`` (YAML scalars)."""
    import yaml

    parsed: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise OprdInputError(f"{flag} {item!r} is not KEY=VALUE (e.g. {flag} {example})")
        parsed[key.strip().replace("-", "_")] = yaml.safe_load(value)
    return parsed


def unlabeled_components(config, data) -> list[StepComponent]:
    """Components for ``config.unlabeled_reward`` (TTRL is added by the trainer itself), plus the
    pseudo-label audit when rows carry hidden true answers."""
    from oprd.rlvr.pseudo_labels import HIDDEN_ANSWER, PseudoLabelAudit

    method = config.unlabeled_reward
    options = method_options(method, config.unlabeled_options)
    if method == "geomin" and data.n_labeled == 0:
        need = options.warmup_per_class
        raise OprdInputError(
            f"--unlabeled-reward geomin learns its prior from labeled rows, but {data.source} has none (0 of {data.n} "
            f"rows have an answer); its warm-up needs {need} correct and {need} incorrect labeled rollouts (at group "
            f"size {config.group_size}, at least {math.ceil(need / config.group_size)} labeled prompt visits with "
            "mixed results per class); label some rows, or use --unlabeled-reward ttrl"
        )
    if method == "trapo" and data.n_labeled == 0:
        raise OprdInputError(
            f"--unlabeled-reward trapo compares unlabeled prompts with labeled ones, but {data.source} has no "
            "labeled rows; label some rows, or use --unlabeled-reward ttrl"
        )
    components: list[StepComponent] = []
    if data.n_labeled < data.n:
        if method == "geomin":
            from oprd.rlvr.geomin_component import GeoMinReliability

            components.append(GeoMinReliability(options))
        elif method == "trapo":
            from oprd.rlvr.trapo import TrajectorySelection

            components.append(TrajectorySelection(options))
        elif method in ("self-certainty", "entropy"):
            from oprd.rlvr.self_rewards import SelfReward

            if config.fsdp:
                raise OprdInputError(
                    f"--unlabeled-reward {method} runs a forward over each rank's own unlabeled rollouts, which "
                    "FSDP cannot run in lockstep across ranks; train without --fsdp (DDP) or pick another method"
                )
            components.append(SelfReward(method, temperature=config.temperature,
                                         micro_batch_size=config.micro_batch_size))
    if any(row.get(HIDDEN_ANSWER) is not None for row in data.rows):
        components.append(PseudoLabelAudit(data.rows))
    return components
