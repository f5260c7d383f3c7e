"""Pools in folders: a ``datasets`` folder from ``save_to_disk``, or a folder of parquet / JSON shards.

A folder's hash covers exactly the files whose contents became rows (plus the feature description of a
``save_to_disk`` folder), by name and content, so a manifest's pool hash changes when, and only when,
what was read changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oprd.data.atomic import file_sha256
from oprd.errors import OprdInputError

DATASET_FILES = ("dataset_info.json", "state.json")
DATASET_DICT_FILE = "dataset_dict.json"
SHARD_SUFFIXES = (".parquet", ".jsonl", ".ndjson", ".json")
_SPLIT_SHARD = re.compile(r"^(.+?)-\d+-of-\d+\.")
"""Hub shard names: ``train-00000-of-00002.parquet`` is shard 0 of split ``train``."""


@dataclass
class FolderRows:
    """Rows read from a folder, the files they came from (relative to the folder), format and schema."""

    rows: list[Any]
    files: list[str]
    format: str
    schema: Any


def is_saved_dataset(folder: Path) -> bool:
    """True for a ``save_to_disk`` folder (one dataset, or a dict of splits)."""
    return (folder / DATASET_DICT_FILE).is_file() or all((folder / name).is_file() for name in DATASET_FILES)


def read_folder(folder: Path, split: str | None) -> FolderRows:
    """Rows of a ``save_to_disk`` folder or a folder of shards (``split`` picks a split or shard prefix)."""
    if is_saved_dataset(folder):
        return _read_saved(folder, split)
    return _read_shards(folder, split)


def folder_sha256(folder: Path, files: list[str]) -> str:
    """sha256 over ``name NUL sha256(content)`` of each file, in the order given."""
    digest = hashlib.sha256()
    for name in files:
        digest.update(f"{name}\0{file_sha256(folder / name)}\n".encode("utf-8"))
    return digest.hexdigest()


def files_read(folder: Path, split: str | None) -> list[str]:
    """The files :func:`read_folder` reads for ``split``, without reading rows (for re-checking a hash)."""
    if is_saved_dataset(folder):
        base, files = _saved_files(_split_folder(folder, split))
        return _under(base, files)
    return [path.name for path in _shard_files(folder, split)]


def _read_saved(folder: Path, split: str | None) -> FolderRows:
    import datasets

    root = _split_folder(folder, split)
    base, files = _saved_files(root)
    try:
        dataset = datasets.load_from_disk(str(root))
    except Exception as exc:  # damaged folders raise many types; all mean the same to the user
        raise OprdInputError(f"{root} is a datasets folder that cannot be read ({_short(exc)}); save it again") from None
    return FolderRows(dataset.to_list(), _under(base, files), "hf", dataset.features.arrow_schema)


def _under(base: str, files: list[str]) -> list[str]:
    """File names relative to the top folder (a split's files sit in its sub-folder)."""
    return [f"{base}/{name}" if base else name for name in files]


def _split_folder(folder: Path, split: str | None) -> Path:
    """The folder of one dataset: ``folder`` itself, or its ``split`` sub-folder for a dict of splits."""
    dict_file = folder / DATASET_DICT_FILE
    if not dict_file.is_file():
        return folder
    try:
        splits = [str(s) for s in json.loads(dict_file.read_text(encoding="utf-8"))["splits"]]
    except (OSError, ValueError, KeyError, TypeError):
        raise OprdInputError(f"{dict_file} is not a readable datasets split list; save the dataset again") from None
    if split is None and len(splits) == 1:
        split = splits[0]
    if split not in splits:
        said = "no --split was given" if split is None else f"--split {split!r} is not one of them"
        raise OprdInputError(
            f"{folder} is a datasets folder with the splits {', '.join(splits)}; {said}: pass --split naming one"
        )
    return folder / split


def _saved_files(root: Path) -> tuple[str, list[str]]:
    """(split sub-folder name or "", the data files listed in ``state.json`` plus ``dataset_info.json``)."""
    state_file = root / "state.json"
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        data = [str(entry["filename"]) for entry in state["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError):
        raise OprdInputError(f"{state_file} is missing or damaged, so {root} is not a readable datasets folder; "
                             "save the dataset again") from None
    base = root.name if (root.parent / DATASET_DICT_FILE).is_file() else ""
    return base, [*data, "dataset_info.json"]


def _shard_files(folder: Path, split: str | None) -> list[Path]:
    """The data files directly in ``folder`` (name order), all of one kind; ``split`` keeps ``<split>*`` files."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in SHARD_SUFFIXES)
    if split is not None:
        files = [p for p in files if p.stem == split or p.name.startswith((f"{split}-", f"{split}_", f"{split}."))]
    else:
        splits = sorted({m.group(1) for p in files if (m := _SPLIT_SHARD.match(p.name))})
        if len(splits) > 1:
            raise OprdInputError(
                f"pool folder {folder} holds the shards of several splits ({', '.join(splits)}); pass --split "
                "naming one"
            )
    if not files:
        found = ", ".join(sorted(p.name for p in folder.iterdir())[:8]) or "nothing"
        wanted = f" whose name starts with {split!r}" if split is not None else ""
        raise OprdInputError(
            f"pool folder {folder} holds no .parquet/.jsonl/.json files{wanted} and is not a datasets save_to_disk "
            f"folder (found: {found}); pass a pool file, a folder of shards, or a save_to_disk folder"
        )
    kinds = {"parquet" if p.suffix.lower() == ".parquet" else "json" for p in files}
    if len(kinds) > 1:
        raise OprdInputError(
            f"pool folder {folder} mixes parquet and JSON shards; keep one kind in the folder, or pass --split "
            "to choose the shards of one split"
        )
    return files


def _read_shards(folder: Path, split: str | None) -> FolderRows:
    from oprd.data.readers import read_rows

    files = _shard_files(folder, split)
    rows: list[Any] = []
    schemas = []
    for path in files:
        raw = read_rows(path)
        rows.extend(raw.rows)
        if raw.schema is not None:
            schemas.append(raw.schema)
    parquet = bool(schemas)
    same = parquet and all(s.remove_metadata() == schemas[0].remove_metadata() for s in schemas)
    fmt = "parquet" if parquet else ("jsonl" if files[0].suffix.lower() != ".json" else "json")
    return FolderRows(rows, [p.name for p in files], fmt, schemas[0] if same else None)


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
