"""Typed values for config dataclasses, driven by their field type hints.

One rule set for every config key, whether it came from a YAML file, a command-line flag or a
library call: booleans only from real booleans or the usual spellings (``true``/``false``,
``yes``/``no``, ``on``/``off``, ``1``/``0``), numbers from numbers or numeric strings (YAML 1.1 reads
``1e-5`` as a string), lists only where a list is declared. Anything else is one
:class:`OprdInputError` line naming the key, the value and the expected type.

The same hints (:func:`field_types`, :func:`describe`), with each field's ``help`` metadata
(:func:`field_help`), are what the generated command lines (``oprd.cli.generated``) use.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Callable

from oprd.errors import OprdInputError

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


class _Mismatch(Exception):
    """The value does not fit the hint (internal; turned into one OprdInputError line)."""


def field_types(cls: type) -> dict[str, Any]:
    """``{field name: resolved type hint}`` of a dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def field_help(item: dataclasses.Field) -> str:
    """The help text a field declares ("" when it declares none)."""
    return item.metadata.get("help", "")


def describe(hint: Any) -> str:
    """The expected type in words, e.g. ``a boolean (true/false)``, ``a list of ints``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if _is_union(hint):
        members = [a for a in args if a is not type(None)]
        text = " or ".join(describe(a) for a in members)
        return f"{text} or null" if len(members) < len(args) else text
    if hint is bool:
        return "a boolean (true/false)"
    if hint is int:
        return "an int"
    if hint is float:
        return "a finite number"
    if hint is str:
        return "a string"
    if hint is Any:
        return "any value"
    if origin in (list, tuple) or hint in (list, tuple):
        inner = describe(args[0]) if args else "values"
        return f"a list of {_plural(inner)}"
    if origin is dict or hint is dict:
        return "a mapping of keys to values"
    return f"a {getattr(hint, '__name__', str(hint))}"


def coerce(hint: Any, value: Any) -> Any:
    """``value`` converted to ``hint``; raises ``_Mismatch`` when it cannot be (see module docstring)."""
    if hint is Any:
        return value
    if _is_union(hint):
        return _coerce_union(typing.get_args(hint), value)
    if hint is type(None):
        if value is None:
            return None
        raise _Mismatch
    if hint is bool:
        return _to_bool(value)
    if hint is int:
        return _to_int(value)
    if hint is float:
        return _to_float(value)
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, tuple) or hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        return [coerce(args[0], item) if args else item for item in value]
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
            raise _Mismatch
        return {key: coerce(args[1], item) if args else item for key, item in value.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        raise _Mismatch
    if isinstance(hint, type) and not isinstance(value, hint):
        raise _Mismatch
    return value


def coerce_fields(cls: type, values: Mapping[str, Any], *, where: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Each ``values[key]`` converted to the type ``cls`` declares for it (unknown keys pass through).

    ``where(key)`` names the key in the error (default: ``config key 'key'``).
    """
    types_of = field_types(cls)
    out = dict(values)
    for key, value in values.items():
        if key in types_of:
            out[key] = check_value(key, types_of[key], value, where=where)
    return out


def coerce_instance(obj: Any, *, owner: str | None = None) -> Any:
    """Convert every field of a dataclass instance in place (library callers get the CLI's rules)."""
    label = owner or type(obj).__name__
    for key, hint in field_types(type(obj)).items():
        value = getattr(obj, key)
        setattr(obj, key, check_value(key, hint, value, where=lambda k: f"The {k!r} parameter of {label}"))
    return obj


def check_value(key: str, hint: Any, value: Any, *, where: Callable[[str], str] | None = None) -> Any:
    """``value`` as ``hint``, or one OprdInputError line naming the key, the value and the type."""
    try:
        return coerce(hint, value)
    except (_Mismatch, RecursionError):
        name = where(key) if where else f"config key {key!r}"
        raise OprdInputError(f"{name} must be {describe(hint)}; got {_show(value)}") from None


def _coerce_union(members: tuple, value: Any) -> Any:
    """Exact matches first (so ``1`` stays an int in ``int | float``), then conversions in order."""
    if value is None:
        if type(None) in members:
            return None
        raise _Mismatch
    if isinstance(value, str) and any(m in (int, float) for m in members) and str not in members:
        value = _number(value)
    for member in members:
        if _exact(member, value):
            return coerce(member, value)
    for member in members:
        if member is type(None):
            continue
        try:
            return coerce(member, value)
        except _Mismatch:
            continue
    raise _Mismatch


def _exact(hint: Any, value: Any) -> bool:
    if hint is bool:
        return isinstance(value, bool)
    if hint in (int, float):
        return isinstance(value, hint) and not isinstance(value, bool)
    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and isinstance(value, origin)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Mismatch


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        value = _number(value)
    if isinstance(value, bool):
        raise _Mismatch
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise _Mismatch


def _to_float(value: Any) -> float:
    if isinstance(value, str):
        value = _number(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Mismatch
    result = float(value)
    if not math.isfinite(result):
        raise _Mismatch
    return result


def _number(text: str) -> int | float:
    """``"8"`` -> 8, ``"1e-5"`` -> 1e-05; anything else is not a number."""
    stripped = text.strip()
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        raise _Mismatch from None


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _plural(text: str) -> str:
    """``an int`` -> ``ints``, ``a finite number`` -> ``finite numbers`` (for ``a list of ...``)."""
    for article in ("an ", "a "):
        if text.startswith(article):
            phrase = text[len(article):]
            cut = min((i for i in (phrase.find(" ("), phrase.find(" of ")) if i >= 0), default=len(phrase))
            return f"{phrase[:cut]}s{phrase[cut:]}"
    return text


def _show(value: Any) -> str:
    """The value as one short line, with its kind: ``'no' (a string)``."""
    kind = ("a boolean" if isinstance(value, bool) else "null" if value is None else
            "a string" if isinstance(value, str) else "a number" if isinstance(value, (int, float)) else
            "a list" if isinstance(value, (list, tuple)) else "a mapping" if isinstance(value, Mapping) else
            f"a {type(value).__name__}")
    try:
        text = repr(value)
    except RecursionError:
        text = "..."
    text = " ".join(text.split())
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({kind})"
