"""Dotted column keys: ``reward_model.ground_truth`` reads ``row["reward_model"]["ground_truth"]``.

This is what lets verl-style and TRL-style files load without conversion.
"""

from __future__ import annotations

from typing import Any, Mapping

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
