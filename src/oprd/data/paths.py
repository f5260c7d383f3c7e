"""Say exactly why an input path cannot be read: missing, a directory, a broken or looping link, compressed.

Shared by the pool reader, ``--config`` files and model directories, so "does not exist" is said only
when nothing is there, and a link loop or a dangling link is named as such.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from oprd.errors import OprdInputError

#: Leading bytes of compressed or archive files, by the tool that undoes them.
COMPRESSED_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "gzip", "gzip -dc"),
    (b"BZh", "bzip2", "bzip2 -dc"),
    (b"\xfd7zXZ\x00", "xz", "xz -dc"),
    (b"\x28\xb5\x2f\xfd", "zstd", "zstd -dc"),
    (b"PK\x03\x04", "zip", "unzip -p"),
)


def require_file(path: Path, what: str, fix: str = "check the path") -> Path:
    """Return ``path`` if it is a readable file, else raise one line saying what is there instead.

    ``what`` names the input ("pool file", "config file"); ``fix`` is the next step for a missing path.
    """
    problem = file_problem(path)
    if problem is None:
        return path
    if problem == "missing":
        raise OprdInputError(f"{what} {path} does not exist; {fix}")
    if problem == "directory":
        raise OprdInputError(f"{what} {path} is a directory; pass a file")
    raise OprdInputError(f"{what} {path} {problem}; fix or replace the link")


def file_problem(path: Path) -> str | None:
    """None for a file; "missing", "directory", or a phrase describing a broken or looping link."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop (following it leads back to itself)"
        if os.path.islink(path):
            return f"is a symbolic link to {os.readlink(path)}, which does not exist"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "missing"
        return f"cannot be read ({exc.strerror})"
    return "directory" if path.is_dir() else None


def compression_of(data: bytes) -> tuple[str, str] | None:
    """``(format, command)`` when ``data`` starts like a compressed file or archive, else None."""
    for magic, name, command in COMPRESSED_MAGIC:
        if data.startswith(magic):
            return name, command
    return None
