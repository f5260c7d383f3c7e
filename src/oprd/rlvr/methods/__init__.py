"""The methods the trainer can run, one module or folder each, and the one registry that names them.

Each method keeps its options dataclass, its math (or a call into the lower layer that owns it) and
its hooks together; this registry maps a name to where they live, without importing them, so the
config and the CLI can list and check names while method code loads only when a run uses it.

Unlabeled-reward methods (``unlabeled_reward``; knobs in ``unlabeled_options``):

- ``ttrl`` (``methods/ttrl.py``): the group's majority answer is the label.
- ``geomin`` (``methods/geomin/``): majority labels, weighted by a hidden-state prior learned on
  labeled rollouts (docs/methods/geomin.md).
- ``trapo`` (``methods/trapo.py``): majority labels on prompts whose trajectories match labeled ones.
- ``self-certainty`` / ``entropy`` (``methods/self_rewards.py``): label-free rewards from the
  policy's own token distributions.
- ``none``: unlabeled rows are not trained.

Label refinement (``olr``, ``methods/olr/``; rows from ``oprd data corrupt`` get simulated noise
either way) and distillation (``distill``, ``methods/distill/``) are switched on by their own keys.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from oprd.errors import OprdInputError


@dataclass(frozen=True)
class UnlabeledMethod:
    """Where an unlabeled-reward method lives: ``module`` has ``build(config, data, options)`` and,
    when the method has knobs, the dataclass ``options``."""

    name: str
    module: str | None
    options: str | None = None


UNLABELED_METHODS: dict[str, UnlabeledMethod] = {m.name: m for m in (
    UnlabeledMethod("geomin", "oprd.rlvr.methods.geomin.hook", "GeoMinOptions"),
    UnlabeledMethod("ttrl", "oprd.rlvr.methods.ttrl"),
    UnlabeledMethod("trapo", "oprd.rlvr.methods.trapo", "TraPOOptions"),
    UnlabeledMethod("self-certainty", "oprd.rlvr.methods.self_rewards"),
    UnlabeledMethod("entropy", "oprd.rlvr.methods.self_rewards"),
    UnlabeledMethod("none", None),
)}


def method_options(name: str, options: Mapping[str, Any] | None):
    """The validated options object of unlabeled method ``name`` (None for methods without knobs)."""
    options = dict(options or {})
    method = UNLABELED_METHODS[name]
    if method.options is None:
        if options:
            with_knobs = [m.name for m in UNLABELED_METHODS.values() if m.options]
            raise OprdInputError(
                f"unlabeled_options {sorted(options)} given, but unlabeled_reward {name!r} takes no options; "
                f"only {', '.join(with_knobs)} do"
            )
        return None
    cls = getattr(importlib.import_module(method.module), method.options)
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise OprdInputError(f"unknown {name} option(s) {', '.join(unknown)}; known: {', '.join(known)}")
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


def default_hooks(config, data) -> list:
    """The hooks a config asks for: the unlabeled-reward method, the pseudo-label audit when rows carry
    hidden true answers, label refinement / simulated noise, and distillation."""
    hooks = []
    method = UNLABELED_METHODS[config.unlabeled_reward]
    if method.module is not None:
        build = importlib.import_module(method.module).build
        hooks.extend(build(config, data, method_options(method.name, config.unlabeled_options)))
    from oprd.rlvr.methods.pseudo_labels import HIDDEN_ANSWER, PseudoLabelAudit

    if any(row.get(HIDDEN_ANSWER) is not None for row in data.rows):
        hooks.append(PseudoLabelAudit(data.rows))
    if config.olr or any(row.get("noise") is not None for row in data.rows):
        from oprd.rlvr.methods.olr.hook import build as build_olr

        hooks.extend(build_olr(config, data, warn=lambda text: print(f"warning: {text}", file=sys.stderr)))
    if config.distill:
        from oprd.rlvr.methods.distill.hook import DistillComponent

        hooks.append(DistillComponent.from_config(config))  # OPRD / OPD against --teacher (docs/methods/oprd.md)
    return hooks
