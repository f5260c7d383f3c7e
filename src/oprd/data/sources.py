"""Where a pool comes from: a file, a folder (``save_to_disk`` or shards), or a Hub dataset id.

:func:`read_source` returns the raw rows with what later steps need: the hash of what was read (the
manifest's pool hash), the pool's own format (the default format of its subset) and its Arrow schema
(so a parquet subset keeps the pool's column types). :func:`source_sha256` recomputes the hash of a
local source, so a trainer can check that the pool has not changed since selection.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oprd.data.atomic import file_sha256
from oprd.data.jsonsafe import to_jsonable
from oprd.errors import OprdInputError

_FILE_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}


@dataclass
class SourceRows:
    """Rows as read and where they came from.

    ``path`` is None for a Hub dataset; ``origin`` then names it (``{"hub": id, "split": ..., "config": ...}``).
    ``lines`` holds 1-based file lines where the format has lines.
    """

    rows: list[Any]
    path: Path | None
    sha256: str
    format: str
    schema: Any = None
    lines: list[int] | None = None
    origin: dict[str, Any] | None = field(default=None)

    @property
    def label(self) -> str:
        """How messages name the source: the path, or the hub id."""
        if self.path is not None:
            return str(self.path)
        return str((self.origin or {}).get("hub", "rows"))


def read_source(source: str | os.PathLike[str], *, split: str | None = None,
                config_name: str | None = None) -> SourceRows:
    """Rows of a pool file, a ``save_to_disk`` folder, a folder of shards, or a Hub dataset id (with ``split``)."""
    from oprd.data.hub_pool import looks_like_hub_id, read_hub
    from oprd.data.readers import read_rows

    path = Path(source).expanduser()
    if path.is_dir():
        return _from_folder(path, split)
    if not os.path.lexists(path) and looks_like_hub_id(str(source)):
        hub = read_hub(str(source), split, config_name)
        origin = {"hub": str(source), "split": split, "config": config_name}
        return SourceRows(hub.rows, None, rows_sha256(hub.rows), "parquet", hub.schema, None, origin)
    if split is not None or config_name is not None:
        flag = "--split" if split is not None else "--pool-config"
        raise OprdInputError(f"{flag} applies to a datasets folder or a Hub dataset id, but --pool {source} is a "
                             f"file; drop {flag}, or pass the folder or Hub id")
    raw = read_rows(path)
    sha256 = hashlib.sha256(raw.data).hexdigest() if raw.data is not None else file_sha256(path)
    return SourceRows(raw.rows, path, sha256, _FILE_FORMATS.get(path.suffix.lower(), "jsonl"), raw.schema, raw.lines)


def source_sha256(path: str | os.PathLike[str], split: str | None = None) -> str:
    """The hash :func:`read_source` gives a local file or folder (files are hashed, rows are not parsed)."""
    from oprd.data.folders import files_read, folder_sha256

    target = Path(path).expanduser()
    if target.is_dir():
        return folder_sha256(target, files_read(target, split))
    return file_sha256(target)


def rows_sha256(rows: list[Any]) -> str:
    """sha256 of a canonical JSON dump of ``rows`` (in-memory rows and Hub datasets have no file to hash)."""
    canonical = json.dumps(to_jsonable(rows), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _from_folder(folder: Path, split: str | None) -> SourceRows:
    from oprd.data.folders import folder_sha256, read_folder
    from oprd.data.readers import check_depth

    found = read_folder(folder, split)
    check_depth(folder, found.rows, None)
    if not found.rows:
        raise OprdInputError(f"pool folder {folder} holds no rows; a pool needs at least one row")
    origin = {"split": split} if split is not None else None
    return SourceRows(found.rows, folder, folder_sha256(folder, found.files), found.format, found.schema, None, origin)
