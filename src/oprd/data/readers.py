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

from oprd.errors import OprdInputError

SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet")
_BOM = b"\xef\xbb\xbf"


@dataclass
class RawRows:
    """Rows as read, with the 1-based file line of each row where the format has lines."""

    rows: list[Any]
    lines: list[int] | None
    data: bytes | None
    """The file bytes when they were read whole (saves a second read for hashing)."""


def read_rows(path: Path) -> RawRows:
    """Rows of a .jsonl/.ndjson/.json/.parquet file; any unreadable file raises :class:`OprdInputError`."""
    if not path.exists():
        raise OprdInputError(f"pool file {path} does not exist; check the path")
    if path.is_dir():
        raise OprdInputError(f"pool path {path} is a directory; pass a .jsonl, .json or .parquet file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise OprdInputError(
            f"pool file {path} has unsupported extension {path.suffix or '(none)'!r}; use .jsonl, .json or .parquet"
        )
    if suffix == ".parquet":
        return RawRows(_read_parquet(path), None, None)
    data = path.read_bytes()
    text = _decode(path, data)
    if suffix == ".json" and text.lstrip().startswith(("[", "{")):
        whole = _read_json_document(path, text)
        if whole is not None:
            return RawRows(whole, None, data)
    rows, lines = _read_json_lines(path, text)
    return RawRows(rows, lines, data)


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
        except json.JSONDecodeError as exc:
            raise OprdInputError(
                f"{path}, line {number}: not valid JSON ({exc.msg} at column {exc.colno}); "
                "write one JSON object per line, or fix or remove that line"
            ) from None
        lines.append(number)
    return rows, lines


def _read_parquet(path: Path) -> list[Any]:
    """Rows of a parquet file as plain dicts (nested structs become nested dicts)."""
    import datasets
    import pyarrow
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(path)
    except (pyarrow.ArrowException, OSError) as exc:
        raise OprdInputError(f"{path} is not a readable parquet file ({exc}); check the file") from None
    return datasets.Dataset(table).to_list()
