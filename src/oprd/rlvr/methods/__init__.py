"""The methods the trainer can run, one module or folder each, and the one registry that names them.

Each method keeps its options dataclass, its math (or a call into the lower layer that owns it) and
its hooks together; this registry maps a name to where they live, without importing them, so the
config and the CLI can list and check names while method code loads only when a run uses it.

Every method's knobs have one shape: flat config keys named ``<method>_<knob>`` (flags
``--<method>-<knob>``), each the method's own parameter of that name (``geomin_decay`` is
``GeoMinOptions.decay``, ``trapo_threshold`` ``TraPOOptions.threshold``, ``olr_delta`` the
refiner's ``delta``, ``distill_topk`` the k of OPD top-k).
The older ``unlabeled_options`` mapping (``--unlabeled-option KEY=VALUE``) still works: its keys are
moved onto the chosen method's flat keys when the config is validated.

Unlabeled-reward methods (``unlabeled_reward``):

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
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from oprd.errors import OprdInputError


@dataclass(frozen=True)
class UnlabeledMethod:
    """Where an unlabeled-reward method lives: ``module`` has ``build(config, data, options)`` and,
    when the method has knobs, the dataclass ``options``, whose fields are the config keys
    ``<prefix>_<field>``."""

    name: str
    module: str | None
    options: str | None = None
    prefix: str | None = None


UNLABELED_METHODS: dict[str, UnlabeledMethod] = {m.name: m for m in (
    UnlabeledMethod("geomin", "oprd.rlvr.methods.geomin.hook", "GeoMinOptions", "geomin"),
    UnlabeledMethod("ttrl", "oprd.rlvr.methods.ttrl"),
    UnlabeledMethod("trapo", "oprd.rlvr.methods.trapo", "TraPOOptions", "trapo"),
    UnlabeledMethod("self-certainty", "oprd.rlvr.methods.self_rewards"),
    UnlabeledMethod("entropy", "oprd.rlvr.methods.self_rewards"),
    UnlabeledMethod("none", None),
)}


def option_keys(config, method: UnlabeledMethod) -> list[str]:
    """The config keys holding ``method``'s knobs (``geomin_decay``, ...), in field order."""
    if method.prefix is None:
        return []
    return [f.name for f in fields(config) if f.name.startswith(method.prefix + "_")]


def _defaults(config) -> dict[str, Any]:
    """Each config key's declared default (a key left there was not set by the user)."""
    return {f.name: f.default for f in fields(config)}


def fold_option_mapping(config) -> None:
    """Move the older ``unlabeled_options`` mapping onto the chosen method's flat keys, in place.

    A key the method does not have, a method without knobs, or a key also set flat to another
    value is refused with one line.
    """
    options = dict(config.unlabeled_options or {})
    if not options:
        return
    method = UNLABELED_METHODS[config.unlabeled_reward]
    if method.prefix is None:
        with_knobs = [m.name for m in UNLABELED_METHODS.values() if m.prefix]
        raise OprdInputError(
            f"unlabeled_options {sorted(options)} given, but unlabeled_reward {method.name!r} takes no options; "
            f"only {', '.join(with_knobs)} do"
        )
    known = [key[len(method.prefix) + 1:] for key in option_keys(config, method)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise OprdInputError(f"unknown {method.name} option(s) {', '.join(unknown)}; known: {', '.join(known)}")
    defaults = _defaults(config)
    for knob, value in options.items():
        key = f"{method.prefix}_{knob}"
        current = getattr(config, key)
        if current != defaults[key] and current != value:
            raise OprdInputError(f"{method.name} option {knob} is given twice: {value!r} in unlabeled_options and "
                                 f"{current!r} as {key}; keep one (--{key.replace('_', '-')} is the current spelling)")
        setattr(config, key, value)
    config.unlabeled_options = {}


def method_options(config):
    """The validated options object of the config's unlabeled method (None for methods without knobs).

    Keys of another method's knobs set away from their defaults are refused: they would be ignored.
    """
    method = UNLABELED_METHODS[config.unlabeled_reward]
    defaults = _defaults(config)
    for other in UNLABELED_METHODS.values():
        stray = [key for key in option_keys(config, other) if other is not method and getattr(config, key) != defaults[key]]
        if stray:
            raise OprdInputError(f"{', '.join(stray)} set, but unlabeled_reward is {method.name!r}; add "
                                 f"--unlabeled-reward {other.name} or drop them")
    if method.options is None:
        return None
    cls = getattr(importlib.import_module(method.module), method.options)
    return cls(**{key[len(method.prefix) + 1:]: getattr(config, key) for key in option_keys(config, method)}).validate()


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
        hooks.extend(build(config, data, method_options(config)))
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
