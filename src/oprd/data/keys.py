"""Dotted column keys: ``reward_model.ground_truth`` reads ``row["reward_model"]["ground_truth"]``.

:func:`lookup` reads a key and :func:`assign` writes one, by the same rule.

This is what lets verl-style and TRL-style files load without conversion.
"""

from __future__ import annotations

from typing import Any, Mapping, MutableMapping

MISSING: Any = object()
"""Returned by :func:`lookup` when the key is absent (``None`` is a present, null value)."""


def lookup(row: Mapping[str, Any], key: str) -> Any:
    """The value at ``key`` in ``row``, or :data:`MISSING`.

    A literal top-level key wins over the dotted reading, so a column really named ``a.b`` still works.
    """
    if key in row:
        return row[key]
    value: Any = row
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def assign(row: MutableMapping[str, Any], key: str, value: Any) -> None:
    """Set ``key`` in ``row`` in place, where :func:`lookup` reads it: an existing literal key first,
    else the dotted path, whose missing or non-dict parents become dicts."""
    if key in row:
        row[key] = value
        return
    *parents, last = key.split(".")
    node = row
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value
