"""Write and read a selection output dir: the subset (``subset.jsonl``, ``.json``, ``.parquet`` or a
``subset/`` datasets folder) plus ``manifest.json``, which names the subset file and its format.

The manifest is the completion marker: it is deleted before anything else is written and written
last, atomically, so a crash at any point never leaves an old manifest beside a new subset (or a
manifest beside a half-written one). Readers treat a dir without a manifest as incomplete.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from oprd.data.atomic import atomic_write_json, fsync_dir
from oprd.data.jsonsafe import to_jsonable
from oprd.data.pool import Pool
from oprd.data.row_writer import check_format, schema_without, write_rows
from oprd.errors import OprdInputError

MANIFEST = "manifest.json"
SUBSET_STEM = "subset"
SUBSET = "subset.jsonl"
"""The subset's name in the default JSON Lines format (other formats: :func:`~oprd.data.row_writer.output_name`)."""
SELECTION_COLUMN = "selection"
_RESERVED = (
    "method", "budget", "seed", "n_pool", "n_selected", "pool_path", "pool_sha256", "prompt_key", "answer_key",
    "id_key", "indices", "ids", "scores", "subset_file", "subset_format", "subset_sha256", "pool_source", "config",
    "model", "oprd_version", "timestamp",
)


def invalidate_output(out_dir: str | os.PathLike[str]) -> None:
    """Delete ``out_dir/manifest.json`` if present, marking the dir incomplete until a new manifest is written.

    Call it before writing anything else into a reused output dir (features, plots).
    """
    manifest = Path(out_dir) / MANIFEST
    if manifest.exists():
        manifest.unlink()
        fsync_dir(manifest.parent)


def write_selection(
    out_dir: str | os.PathLike[str],
    pool: Pool,
    indices: Sequence[int],
    scores: Sequence[float] | None,
    *,
    method: str,
    budget: int | None = None,
    seed: int | None = None,
    config: Mapping[str, Any] | None = None,
    model: str | None = None,
    row_extras: Sequence[Mapping[str, Any]] | None = None,
    fmt: str | None = None,
    **manifest: Any,
) -> Path:
    """Write the subset then ``manifest.json`` into ``out_dir``; returns ``out_dir``.

    ``fmt`` (``jsonl``, ``json``, ``parquet``, ``hf``; default: the pool's own format) picks the subset's
    format; parquet and ``hf`` subsets keep the pool's Arrow schema. The manifest names the subset
    (``subset_file``, ``subset_format``, ``subset_sha256``).
    Each subset row is the pool row, untouched, in selection order, plus one nested ``selection``
    column ``{"rank", "index", "score", **row_extras[rank]}`` (rank = 0-based position in the
    selection; an older ``selection`` column, e.g. from re-selecting a subset, is replaced). Scores may
    be numpy values; NaN and inf become null. Extra ``**manifest`` keys are stored in the manifest.
    """
    indices = [_check_index(i, pool.n) for i in indices]
    if len(set(indices)) != len(indices):
        raise ValueError("indices must not repeat a row")
    score_list = [None] * len(indices) if scores is None else to_jsonable(list(scores))
    if len(score_list) != len(indices):
        raise ValueError(f"got {len(score_list)} scores for {len(indices)} indices")
    extras = [{}] * len(indices) if row_extras is None else list(row_extras)
    if len(extras) != len(indices):
        raise ValueError(f"got {len(extras)} row_extras for {len(indices)} indices")
    if any({"rank", "index", "score"} & set(extra) for extra in extras):
        raise ValueError("row_extras must not set 'rank', 'index' or 'score'")
    clash = sorted(set(manifest) & set(_RESERVED))
    if clash:
        raise ValueError(f"manifest keys {clash} are reserved by write_selection; pass a different name")

    fmt = check_format(pool.source_format if fmt is None else fmt)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    invalidate_output(out)
    rows = []
    for rank, (index, score, extra) in enumerate(zip(indices, score_list, extras)):
        column = {"rank": rank, "index": index, "score": score, **extra}
        rows.append({**pool.rows[index], SELECTION_COLUMN: column})
    labels = [f"pool row {index} (id {pool.ids[index]})" for index in indices]
    written = write_rows(out, SUBSET_STEM, rows, fmt, schema=schema_without(pool.schema, SELECTION_COLUMN),
                         row_labels=labels)
    atomic_write_json(
        out / MANIFEST,
        {
            "method": method,
            "budget": len(indices) if budget is None else budget,
            "seed": seed,
            "n_pool": pool.n,
            "n_selected": len(indices),
            "pool_path": str(pool.path) if pool.path is not None else None,
            "pool_sha256": pool.sha256,
            "prompt_key": pool.prompt_key,
            "answer_key": pool.answer_key,
            "id_key": pool.id_key,
            "indices": indices,
            "ids": [pool.ids[i] for i in indices],
            "scores": score_list,
            "subset_file": written.name,
            "subset_format": written.format,
            "subset_sha256": written.sha256,
            "pool_source": pool.origin,
            "config": config,
            "model": model,
            "oprd_version": _package_version(),
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            **manifest,
        },
    )
    return out


def read_manifest(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a selection output dir; a missing or unreadable one raises :class:`OprdInputError`."""
    path = Path(out_dir).expanduser() / MANIFEST
    if not path.is_file():
        raise OprdInputError(f"{out_dir} is not a complete oprd-select output: no {MANIFEST}; re-run the selection")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OprdInputError(f"{path} is not valid JSON ({exc}); re-run the selection") from None
    if not isinstance(manifest, dict):
        raise OprdInputError(f"{path} does not hold a JSON object; re-run the selection")
    return manifest


def _check_index(index: Any, n: int) -> int:
    """A plain int row index in [0, n) (numpy integers are accepted)."""
    if isinstance(index, bool) or not hasattr(index, "__index__"):
        raise ValueError(f"selection indices must be integers, got {index!r}")
    value = int(index.__index__())
    if not 0 <= value < n:
        raise ValueError(f"selection index {value} is outside the pool of {n} rows")
    return value


def _package_version() -> str:
    """``oprd.__version__``, else the installed distribution's version, else "unknown"."""
    import oprd

    version = getattr(oprd, "__version__", None)
    if version:
        return str(version)
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("oprd")
    except PackageNotFoundError:
        return "unknown"
