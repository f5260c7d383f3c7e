"""Notebook-friendly one-call selection: ``oprd.select_shift(pool, budget=500)``.

``pool`` may be a ``datasets.Dataset``, a list of row dicts, a :class:`~oprd.data.Pool`, or a path: a pool
file, a ``datasets`` folder, a folder of shards, or a Hub dataset id (with ``split``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oprd.errors import OprdInputError
from oprd.models.builtin import DEFAULT_MODEL
from oprd.selectors.pipeline import Selection, SelectionConfig, run_selection


def as_pool(pool: Any, *, prompt_key: str = "prompt", answer_key: str = "answer", id_key: str = "id",
            split: str | None = None, config_name: str | None = None):
    """A :class:`~oprd.data.Pool` from a ``Pool``, a path or Hub id, a ``datasets.Dataset``, or a list of dicts."""
    from oprd.data import Pool, load_pool

    keys = {"prompt_key": prompt_key, "answer_key": answer_key, "id_key": id_key}
    if isinstance(pool, Pool):
        return pool
    if isinstance(pool, (str, os.PathLike)):
        return load_pool(pool, **keys, split=split, config_name=config_name)
    if type(pool).__module__.startswith("datasets"):
        return Pool.from_dataset(pool, **keys)
    if isinstance(pool, (list, tuple)) and all(isinstance(row, Mapping) for row in pool):
        return Pool.from_rows(list(pool), **keys)
    raise OprdInputError(
        f"pool must be a datasets.Dataset, a list of row dicts, or a path or Hub id, found {type(pool).__name__}; "
        "pass one of those"
    )


def select(pool: Any, budget: int | float, *, method: str = "shift", out_dir: str | Path | None = None,
           progress: bool = True, overwrite: bool = False, prompt_key: str = "prompt", answer_key: str = "answer",
           id_key: str = "id", split: str | None = None, format: str | None = None, **options: Any) -> Selection:
    """Run any selection method (``shift``, ``random``, ``kcenter``, ...) on a pool.

    ``options`` are fields of :class:`SelectionConfig` (``model``, ``layers``, ``max_new_tokens``, ...).
    ``format`` is the subset's format (``jsonl``, ``json``, ``parquet``, ``hf``; default: the pool's own,
    ``hf`` for a ``datasets.Dataset``). Writes an output dir when ``out_dir`` is given; a finished
    selection there is replaced only with ``overwrite=True``.
    """
    resolved = as_pool(pool, prompt_key=prompt_key, answer_key=answer_key, id_key=id_key, split=split)
    config = SelectionConfig(method=method, budget=budget, output_format=format, **options)
    return run_selection(resolved, config, out_dir=out_dir, progress=progress, overwrite=overwrite)


def select_shift(pool: Any, budget: int | float, *, model: str = DEFAULT_MODEL, out_dir: str | Path | None = None,
                 progress: bool = True, overwrite: bool = False, **options: Any) -> Selection:
    """SHIFT in one call: greedy rollouts, hidden-state capture (cached), weighted farthest-first.

    Takes the same ``pool`` forms and keywords as :func:`select` (``prompt_key``, ``split``, ``format``, ...).
    """
    return select(pool, budget, method="shift", model=model, out_dir=out_dir, progress=progress,
                  overwrite=overwrite, **options)
