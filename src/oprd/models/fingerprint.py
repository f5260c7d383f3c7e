"""What a model *is*, for cache keys: the content of its files, or the hub commit it was loaded at.

File sizes and whole-second mtimes miss a changed chat template of the same size, or weights
restored with ``cp -p``. Here a local directory is identified by the sha256 of every file in it.
Hashing a large checkpoint takes seconds, so digests are remembered per file under
``$OPRD_CACHE/file-digests.json`` keyed by (device, inode, size, mtime_ns, ctime_ns): any write or
copy changes the ctime, which no tool can set back, so a remembered digest is never stale.
"""

from __future__ import annotations

import json
from pathlib import Path

from oprd.errors import OprdInputError

_MEMO_NAME = "file-digests.json"


def model_fingerprint(name_or_path: str, resolved_path: str) -> dict:
    """``{"name", "files": {file: sha256}}`` for a local dir; ``{"hub_id", "commit"}`` for a hub id."""
    path = Path(resolved_path)
    if path.is_dir():
        return {"name": name_or_path, "files": directory_digests(path)}
    return {"hub_id": name_or_path, "commit": hub_commit(name_or_path)}


def directory_digests(directory: Path) -> dict[str, str]:
    """sha256 of each regular, non-hidden file directly in ``directory`` (what loaders read)."""
    memo_path = _memo_path()
    memo = _read_memo(memo_path)
    digests, changed = {}, False
    for file in sorted(directory.iterdir()):
        if file.name.startswith(".") or not file.is_file():
            continue
        stat = file.stat()
        stamp = f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"
        key = str(file.resolve())
        entry = memo.get(key)
        if not (isinstance(entry, list) and len(entry) == 2 and entry[0] == stamp):
            from oprd.data.atomic import file_sha256

            entry = [stamp, file_sha256(file)]
            memo[key] = entry
            changed = True
        digests[file.name] = entry[1]
    if changed:
        _write_memo(memo_path, memo)
    return digests


def hub_commit(repo_id: str) -> str:
    """The commit of the hub repo's cached snapshot (downloading its config.json if not cached yet)."""
    try:
        from huggingface_hub import hf_hub_download, try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "config.json")
        if not isinstance(cached, str):
            cached = hf_hub_download(repo_id, "config.json")
    except Exception as error:  # network, auth and missing-repo errors come in many types
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise OprdInputError(f"cannot tell which commit of hub model {repo_id!r} to use ({first}); download it "
                             "once with network access, or pass a local model directory") from None
    parts = Path(cached).parts
    if "snapshots" not in parts or parts.index("snapshots") + 1 >= len(parts):
        raise OprdInputError(f"hub model {repo_id!r} was found outside the hub cache layout ({cached}); "
                             "pass its directory as --model instead")
    return parts[parts.index("snapshots") + 1]


def _memo_path() -> Path:
    from oprd.models.builtin import cache_root

    return Path(cache_root()) / _MEMO_NAME


def _read_memo(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or damaged memo: digests are recomputed, never trusted blindly
    return data if isinstance(data, dict) else {}


def _write_memo(path: Path, memo: dict) -> None:
    """Atomic replace; two processes racing lose at most each other's new entries (recomputed later)."""
    from oprd.data.atomic import atomic_write_text

    try:
        atomic_write_text(path, json.dumps(memo, sort_keys=True))
    except OSError:
        pass  # a read-only cache only costs re-hashing next time
