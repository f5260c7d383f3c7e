"""A prepared built-in model directory: its marker (with file hashes), health check and atomic swap-in.

Readers load the directory while another process may be rebuilding it, so the live directory is
never deleted in place: the new one is built beside it and renamed over in two renames (old aside,
new in), the old one is removed afterwards. A reader that hits the short gap between the renames
sees a load error, finds the directory healthy (:func:`is_healthy`) and loads again; only a
directory whose files no longer match its marker is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from pathlib import Path

MARKER = "oprd_prepared.json"
_CHUNK = 1 << 20


def write_marker(directory: Path, name: str, source: str) -> None:
    """Write the marker last: name, source, and the size and sha256 of every file in ``directory``."""
    from oprd.data.atomic import atomic_write_json

    files = {str(path.relative_to(directory)): {"size": path.stat().st_size, "sha256": _sha256(path)}
             for path in sorted(directory.rglob("*")) if path.is_file() and path.name != MARKER}
    atomic_write_json(directory / MARKER, {"name": name, "source": source, "files": files})


def is_healthy(directory: Path) -> bool:
    """True when ``directory`` has a marker and every file it lists is there with its size and sha256.

    A marker from an older oprd (no file list) counts as healthy when ``config.json`` is present.
    """
    try:
        marker = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = marker.get("files") if isinstance(marker, dict) else None
    if files is None:
        return (directory / "config.json").is_file()
    for relative, expected in files.items():
        path = directory / relative
        try:
            if path.stat().st_size != expected["size"] or _sha256(path) != expected["sha256"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return True


def swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with renames only; the old directory is deleted afterwards."""
    aside = None
    if os.path.lexists(target):
        aside = target.with_name(f".{target.name}-old-{secrets.token_hex(4)}")
        os.replace(target, aside)
    os.replace(staging, target)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()
