"""Where a command may write: never over, or into the folder of, a file it reads.

Every command with inputs and an output (``oprd-select``, ``oprd-train``, ``oprd data make`` /
``corrupt``, ``oprd distill fit-bridge``) calls :func:`check_output_dir` or :func:`check_output_file`
before any work, so a mistyped ``--out`` is refused with one line instead of replacing the user's pool.
Paths are compared both as written (a link is not followed) and resolved (links followed), so neither a
symbolic link nor a relative spelling hides that two paths are the same place.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Union

from oprd.errors import OprdInputError

PathLike = Union[str, os.PathLike]


def check_output_dir(out: PathLike, inputs: Mapping[str, PathLike | None], *, flag: str = "--out") -> Path:
    """Refuse an output directory that is a file or that is, or holds, one of ``inputs``; returns ``out``.

    ``inputs`` maps the option that named each input (``"--pool"``) to its path; None and paths that
    do not exist (hub ids, built-in model names) are skipped.
    """
    target = Path(out).expanduser()
    if os.path.lexists(target) and not target.is_dir():
        kind = "a broken or looping symbolic link" if target.is_symlink() else "an existing file"
        raise OprdInputError(f"{flag} {out} is {kind}; {flag} names a directory: pass a new or existing folder")
    places = _places(target)
    for option, path in _existing(inputs):
        for place in _places(path):
            if place in places or any(parent in places for parent in place.parents):
                raise OprdInputError(
                    f"{flag} {out} holds the input {option} {path}; a command never writes into the folder of a "
                    f"file it reads: choose another {flag} (for example a new subfolder beside it)"
                )
    return target


def check_output_file(out: PathLike, inputs: Mapping[str, PathLike | None], *, flag: str = "--out") -> Path:
    """Refuse an output file that is a directory, one of ``inputs``, or inside an input directory."""
    target = Path(out).expanduser()
    if target.is_dir():
        raise OprdInputError(f"{flag} {out} is a directory; {flag} names the file to write: add a file name")
    places = _places(target)
    for option, path in _existing(inputs):
        same = _same_file(target, Path(path))
        inside = Path(path).is_dir() and any(here in place.parents for place in places for here in _places(path))
        if same or inside:
            where = "is the same file as" if same else "is inside the input folder"
            raise OprdInputError(
                f"{flag} {out} {where} {option} {path}; inputs are never modified: choose another {flag} path"
            )
    return target


def refuse_previous_result(out: PathLike, marker: str, *, overwrite: bool, what: str) -> None:
    """Refuse an ``out`` that holds a complete earlier result (its ``marker`` file) unless ``overwrite``."""
    path = Path(out).expanduser() / marker
    if os.path.lexists(path) and not overwrite:
        raise OprdInputError(
            f"{out} already holds a complete {what} ({marker}); pass --overwrite to replace it, "
            "or choose another --out"
        )


def refuse_symlinks(directory: PathLike, names: Iterable[str]) -> None:
    """Refuse output names in ``directory`` that are symbolic links (a write would follow them elsewhere)."""
    for name in names:
        path = Path(directory) / name
        if path.is_symlink():
            raise OprdInputError(
                f"{path} is a symbolic link; oprd writes its outputs only as regular files: remove the link "
                "or choose another --out"
            )


def _existing(inputs: Mapping[str, PathLike | None]) -> list[tuple[str, Path]]:
    """The inputs that name something on disk (hub ids and built-in model names do not)."""
    found = []
    for option, path in inputs.items():
        if path is None or str(path) == "":
            continue
        candidate = Path(path).expanduser()
        if os.path.lexists(candidate):
            found.append((option, candidate))
    return found


def _places(path: PathLike) -> set[Path]:
    """The absolute path as written (links not followed) and, where it resolves, the real path."""
    written = Path(os.path.abspath(Path(path).expanduser()))
    places = {written}
    try:
        places.add(written.resolve())
    except (OSError, RuntimeError):  # a looping link does not resolve
        pass
    return places


def _same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are the same file: same place, or same inode (links, hard links)."""
    if _places(a) & _places(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
