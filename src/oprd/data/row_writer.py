"""Write rows in the format the user trains from: JSON Lines, one JSON array, parquet, or a ``datasets`` folder.

Selections and triage files go back into the user's trainer (verl reads parquet and JSON, TRL reads any
``datasets`` source), so every output of rows passes through :func:`write_rows`, which names the file it
wrote and its hash for the manifest. Parquet and ``hf`` keep the pool's Arrow schema when one is known
(a verl parquet pool comes back with the same column types), with extra columns (``selection``) appended.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oprd.data.atomic import atomic_write_bytes, fsync_dir
from oprd.data.jsonsafe import to_jsonable
from oprd.errors import OprdInputError

OUTPUT_FORMATS = ("jsonl", "json", "parquet", "hf")
"""``hf`` is a folder written by ``datasets.Dataset.save_to_disk`` (read back with ``load_from_disk``)."""
_SUFFIX = {"jsonl": ".jsonl", "json": ".json", "parquet": ".parquet", "hf": ""}


@dataclass(frozen=True)
class WrittenRows:
    """What :func:`write_rows` wrote: the file (or folder) name inside the output dir and its sha256."""

    name: str
    sha256: str
    format: str


def output_name(stem: str, fmt: str) -> str:
    """The file name rows called ``stem`` get in format ``fmt`` (``subset.parquet``; ``subset`` for ``hf``)."""
    check_format(fmt)
    return stem + _SUFFIX[fmt]


def check_format(fmt: Any, flag: str = "--format") -> str:
    """``fmt`` when it is one of :data:`OUTPUT_FORMATS`, else a one-line error."""
    if fmt not in OUTPUT_FORMATS:
        raise OprdInputError(f"{flag} {fmt!r} is not an output format; choose one of {', '.join(OUTPUT_FORMATS)}")
    return fmt


def write_rows(directory: str | os.PathLike[str], stem: str, rows: Sequence[Mapping[str, Any]], fmt: str, *,
               schema: Any = None, row_labels: Sequence[str] | None = None) -> WrittenRows:
    """Write ``rows`` as ``directory/<stem><suffix>`` in format ``fmt``, atomically; returns name and sha256.

    ``schema`` (a ``pyarrow.Schema``, e.g. :attr:`oprd.data.Pool.schema`) fixes the column types of
    parquet and ``hf`` outputs; columns the rows have beyond it are inferred and appended. Without a
    schema, a column whose values have different types in different rows is refused with the column
    and the rows (``row_labels[i]`` names row i there, e.g. "pool row 17"; default "row i"). Files of the same ``stem`` in the other formats (from an earlier run) are removed, so
    the directory holds one version of the rows.
    """
    from oprd.data.sources import source_sha256

    check_format(fmt)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    name = output_name(stem, fmt)
    target = out / name
    if fmt == "jsonl":
        atomic_write_bytes(target, "".join(_json_line(row) for row in rows).encode("utf-8"))
    elif fmt == "json":
        text = json.dumps([to_jsonable(row) for row in rows], ensure_ascii=False, allow_nan=False, indent=1)
        atomic_write_bytes(target, (text + "\n").encode("utf-8"))
    elif fmt == "parquet":
        atomic_write_bytes(target, _parquet_bytes(arrow_table(rows, schema, row_labels)))
    else:
        _save_to_disk_atomically(arrow_table(rows, schema, row_labels), target)
    _remove_other_formats(out, stem, keep=name)
    return WrittenRows(name, source_sha256(target), fmt)


def arrow_table(rows: Sequence[Mapping[str, Any]], schema: Any = None,
                row_labels: Sequence[str] | None = None) -> Any:
    """A ``pyarrow.Table`` of ``rows``: ``schema``'s types where given, one checked type per other column."""
    import pyarrow as pa

    plain = [to_jsonable(row) for row in rows]
    labels = list(row_labels) if row_labels is not None else [f"row {i}" for i in range(len(plain))]
    columns = _column_order(plain)
    # a column that was all null in the source (an unlabeled answer column) takes the type of the new values
    base = [f for f in schema if f.name in columns and not pa.types.is_null(f.type)] if schema is not None else []
    known = {f.name for f in base}
    extra = [c for c in columns if c not in known]
    for column in extra:
        conflict = type_conflict([(labels[i], row.get(column)) for i, row in enumerate(plain)], column)
        if conflict is not None:
            raise OprdInputError(_mixed_types_message(*conflict))
    try:
        fields = list(base)
        for column in extra:
            fields.append(pa.field(column, pa.array([row.get(column) for row in plain]).type))
        metadata = schema.metadata if schema is not None else None
        target = pa.schema(fields, metadata=metadata)
        return pa.Table.from_pylist(plain, schema=target)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise OprdInputError(
            f"the rows cannot be written as a parquet/datasets table ({_one_line(exc)}); "
            "write them with --format jsonl, or make each column hold one type"
        ) from None


def schema_without(schema: Any, *names: str) -> Any:
    """``schema`` without the columns ``names`` (columns the writer replaces, such as ``selection``)."""
    if schema is None:
        return None
    for name in names:
        index = schema.get_field_index(name)
        if index >= 0:
            schema = schema.remove(index)
    return schema


def type_conflict(values: Sequence[tuple[str, Any]], path: str) -> tuple[str, dict[str, str]] | None:
    """The first place where ``values`` (row label, value) mix JSON types: (column path, {type: first row}).

    Integers and floats mix freely (Arrow stores both as a float column); nulls fit any type. Objects
    are checked key by key, lists item by item, so a conflict deep inside a nested column is named.
    """
    kinds: dict[str, str] = {}
    for row, value in values:
        kind = _kind(value)
        if kind is not None and kind not in kinds:
            kinds[kind] = row
    if len(kinds) > 1:
        return path, kinds
    if kinds.keys() == {"object"}:
        keys = _column_order([value for _, value in values if isinstance(value, dict)])
        for key in keys:
            found = type_conflict([(row, value.get(key)) for row, value in values if isinstance(value, dict)],
                                  f"{path}.{key}")
            if found is not None:
                return found
    if kinds.keys() == {"list"}:
        items = [(row, item) for row, value in values if isinstance(value, list) for item in value]
        return type_conflict(items, f"{path}[]")
    return None


def _kind(value: Any) -> str | None:
    """The JSON type of a value as Arrow sees it (None for null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _mixed_types_message(path: str, kinds: dict[str, str]) -> str:
    found = " and ".join(f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} in {row}"
                         for kind, row in list(kinds.items())[:3])
    return (f"--format parquet/hf needs one type per column, but column {path!r} holds {found}; "
            "make that column one type in the pool, or write the selection with --format jsonl")


def _column_order(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every key of every row, in order of first appearance (a key missing from a row becomes null)."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _json_line(row: Mapping[str, Any]) -> str:
    return json.dumps(to_jsonable(row), ensure_ascii=False, allow_nan=False) + "\n"


def _parquet_bytes(table: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    try:
        pq.write_table(table, buffer)
    except (pa.ArrowException, ValueError) as exc:
        raise OprdInputError(
            f"the rows cannot be written as parquet ({_one_line(exc)}); write them with --format jsonl"
        ) from None
    return buffer.getvalue()


def _save_to_disk_atomically(table: Any, target: Path) -> None:
    """``save_to_disk`` into a hidden sibling folder, then swap it in (an older folder is removed after)."""
    import datasets
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    tag = secrets.token_hex(4)
    staging = target.with_name(f".{target.name}.{tag}.tmp")
    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()  # oprd reports its own progress; one bar per saved file would flood the log
    try:
        datasets.Dataset(table).save_to_disk(str(staging))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if not was_disabled:
            enable_progress_bars()
    old = target.with_name(f".{target.name}.{tag}.old")
    if os.path.lexists(target):
        os.replace(target, old)
    os.replace(staging, target)
    fsync_dir(target.parent)
    _remove(old)


def _remove_other_formats(directory: Path, stem: str, keep: str) -> None:
    """Delete ``stem`` written in another format by an earlier run, so only one version remains."""
    for fmt in OUTPUT_FORMATS:
        name = stem + _SUFFIX[fmt]
        if name != keep:
            _remove(directory / name)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
