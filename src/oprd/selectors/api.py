"""Notebook-friendly one-call selection: ``oprd.select_shift(pool, budget=500)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oprd.models.builtin import DEFAULT_MODEL
from oprd.selectors.pipeline import Selection, SelectionConfig, run_selection


def _as_pool(pool: Any):
    """Accept a ``Pool``, a path to a pool file, or a list of row dicts."""
    from oprd.data import Pool, load_pool

    if isinstance(pool, Pool):
        return pool
    if isinstance(pool, (str, Path)):
        return load_pool(pool)
    return Pool.from_rows(list(pool))


def select(pool: Any, budget: int | float, *, method: str = "shift", out_dir: str | Path | None = None,
           progress: bool = True, overwrite: bool = False, **options: Any) -> Selection:
    """Run any selection method (``shift``, ``random``, ``kcenter``, ...) on a pool.

    ``options`` are fields of :class:`SelectionConfig` (``model``, ``layers``, ``max_new_tokens``, ...).
    Writes an output dir when ``out_dir`` is given; a finished selection there is replaced only with
    ``overwrite=True``.
    """
    config = SelectionConfig(method=method, budget=budget, **options)
    return run_selection(_as_pool(pool), config, out_dir=out_dir, progress=progress, overwrite=overwrite)


def select_shift(pool: Any, budget: int | float, *, model: str = DEFAULT_MODEL, out_dir: str | Path | None = None,
                 progress: bool = True, overwrite: bool = False, **options: Any) -> Selection:
    """SHIFT in one call: greedy rollouts, hidden-state capture (cached), weighted farthest-first."""
    return select(pool, budget, method="shift", model=model, out_dir=out_dir, progress=progress,
                  overwrite=overwrite, **options)
