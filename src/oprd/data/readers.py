"""Read a pool file into raw rows, accepting real-world files as they are.

JSON and JSON Lines are parsed here with the standard library rather than through ``datasets``: the
``datasets`` JSON loader unifies the schema across rows (filling absent keys with null, which would
alter the rows we promise to keep untouched) and cannot say which line of a file is broken. Parquet
goes through ``datasets`` on an in-memory Arrow table, so no cache directory or progress bar appears.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oprd.data.paths import compression_of, require_file
from oprd.errors import OprdInputError

MAX_DEPTH = 64
"""Deepest nesting of lists and objects accepted in a row (chat messages and verl rows need about 4)."""
SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet")
_BOM = b"\xef\xbb\xbf"


@dataclass
class RawRows:
    """Rows as read, with the 1-based file line of each row where the format has lines."""

    rows: list[Any]
    lines: list[int] | None
    data: bytes | None
    """The file bytes when they were read whole (saves a second read for hashing)."""
    schema: Any = None
    """The Arrow schema of a parquet file (kept so a parquet subset gets the same column types)."""


def read_rows(path: Path) -> RawRows:
    """Rows of a .jsonl/.ndjson/.json/.parquet file; any unreadable file raises :class:`OprdInputError`."""
    if path.is_dir():
        raise OprdInputError(f"pool path {path} is a directory; pass a .jsonl, .json or .parquet file")
    require_file(path, "pool file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise OprdInputError(
            f"pool file {path} has unsupported extension {path.suffix or '(none)'!r}; use .jsonl, .json or .parquet"
        )
    if suffix == ".parquet":
        rows, schema = _read_parquet(path)
        check_depth(path, rows, None)
        return RawRows(rows, None, None, schema)
    data = path.read_bytes()
    _refuse_compressed(path, data)
    text = _decode(path, data)
    if suffix == ".json" and text.lstrip().startswith(("[", "{")):
        whole = _read_json_document(path, text)
        if whole is not None:
            check_depth(path, whole, None)
            return RawRows(whole, None, data)
    rows, lines = _read_json_lines(path, text)
    check_depth(path, rows, lines)
    return RawRows(rows, lines, data)


def check_depth(path: Path, rows: list[Any], lines: list[int] | None) -> None:
    """Refuse rows nested deeper than :data:`MAX_DEPTH` (they would overflow recursive code later on)."""
    for index, row in enumerate(rows):
        if _deeper_than(row, MAX_DEPTH):
            where = f"line {lines[index]}" if lines else f"row index {index}"
            raise OprdInputError(_too_deep(path, where))


def _deeper_than(value: Any, limit: int) -> bool:
    """True when lists/objects in ``value`` nest more than ``limit`` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep(path: Path, where: str) -> str:
    return (f"{path}, {where}: JSON nested more than {MAX_DEPTH} levels deep; pool rows hold prompts, answers "
            "and metadata: flatten that row or remove it")


def _refuse_compressed(path: Path, data: bytes) -> None:
    """A compressed file under a text name is named as such, not reported as bad UTF-8."""
    found = compression_of(data)
    if found is not None:
        name, command = found
        raise OprdInputError(
            f"pool file {path} looks {name}-compressed (it starts with the {name} signature) although it is named "
            f"{path.suffix}; decompress it first (e.g. {command} {path.name} > {path.stem}.plain{path.suffix})"
        )


def _decode(path: Path, data: bytes) -> str:
    """UTF-8 text without a leading byte-order mark; bad bytes are reported by line and byte offset."""
    skip = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = data.count(b"\n", 0, offset) + 1
        raise OprdInputError(
            f"{path}, line {line} (byte offset {offset}): not valid UTF-8; re-save the file as UTF-8"
        ) from None


def _read_json_document(path: Path, text: str) -> list[Any] | None:
    """A whole-file JSON array of rows (or one object = one row); None when the file is JSON Lines."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise OprdInputError(_too_deep(path, "the document")) from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            return None  # "{...}\n{...}": JSON Lines under a .json name
        raise OprdInputError(
            f"{path}, line {exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno}); fix the file"
        ) from None
    return document if isinstance(document, list) else [document]


def _read_json_lines(path: Path, text: str) -> tuple[list[Any], list[int]]:
    """One JSON value per line; CRLF endings and blank lines are fine."""
    rows: list[Any] = []
    lines: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except RecursionError:
            raise OprdInputError(_too_deep(path, f"line {number}")) from None
        except json.JSONDecodeError as exc:
            raise OprdInputError(
                f"{path}, line {number}: not valid JSON ({exc.msg} at column {exc.colno}); "
                "write one JSON object per line, or fix or remove that line"
            ) from None
        lines.append(number)
    return rows, lines


def _read_parquet(path: Path) -> tuple[list[Any], Any]:
    """Rows of a parquet file as plain dicts (nested structs become nested dicts), and its Arrow schema."""
    import datasets
    import pyarrow
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(path)
    except (pyarrow.ArrowException, OSError) as exc:
        raise OprdInputError(f"{path} is not a readable parquet file ({exc}); check the file") from None
    return datasets.Dataset(table).to_list(), table.schema
