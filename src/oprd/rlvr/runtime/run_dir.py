"""The training run directory: never an input's folder, never another run's results mixed in.

:func:`prepare_run_dir` runs when a :class:`~oprd.rlvr.trainer.GRPOTrainer` is built (so library users
are protected as well as ``oprd-train``), before any model is loaded. An ``out`` that already holds a
run (``metrics.jsonl``, ``config.yaml`` or a checkpoint) is continued only with ``resume``, replaced
only with ``overwrite``, and refused otherwise: a new run never appends to another run's metrics.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from oprd.data.outputs import check_output_dir, refuse_symlinks
from oprd.errors import OprdInputError
from oprd.rlvr.runtime.checkpoint import list_checkpoints

#: Files a run writes at the top of ``out`` (checkpoints are ``checkpoint-<step>/`` dirs beside them).
RUN_FILES = ("metrics.jsonl", "config.yaml")


def prepare_run_dir(config: Any, out: Path, dist: Any = None) -> None:
    """Check ``out`` for ``config`` (a GRPOConfig) and, with ``overwrite``, clear the earlier run on rank 0."""
    check_output_dir(out, training_inputs(config))
    refuse_symlinks(out, RUN_FILES)
    earlier = earlier_run(out)
    if config.overwrite:
        if config.resume is not None:
            raise OprdInputError(
                f"--overwrite starts a new run in {out} and --resume {config.resume} continues one; pass only one"
            )
        if earlier and (dist is None or getattr(dist, "is_main", True)):
            clear_run(out)
        return
    if not earlier or _continues(config.resume, out):
        return
    raise OprdInputError(
        f"{out} already holds a training run ({', '.join(earlier)}); pass --resume auto to continue it, "
        "--overwrite to replace it, or choose another --out"
    )


def training_inputs(config: Any) -> dict[str, Any]:
    """Every path a training run reads, by the option that names it (reward code files included)."""
    inputs: dict[str, Any] = {"--selected": config.selected, "--data": config.data, "--eval-data": config.eval_data,
                              "--model": config.model, "--teacher": config.teacher, "--bridge": config.bridge}
    for path in config.reward_funcs or ():
        module = str(path).rpartition(":")[0]
        if module.endswith(".py"):
            inputs[f"--reward-func {path}"] = module
    return inputs


def earlier_run(out: Path) -> list[str]:
    """What in ``out`` shows an earlier run: its run files and ``checkpoint-<step>`` dirs (empty if none)."""
    found = [name for name in RUN_FILES if os.path.lexists(out / name)]
    return found + [path.name for path in list_checkpoints(out)]


def clear_run(out: Path) -> None:
    """Delete an earlier run's files and checkpoints from ``out`` (other files are left alone)."""
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for path in list_checkpoints(out):
        shutil.rmtree(path)
    for staging in out.glob(".checkpoint-*.tmp"):
        shutil.rmtree(staging, ignore_errors=True)


def _continues(resume: str | None, out: Path) -> bool:
    """True when ``resume`` continues the run in ``out`` (auto, or one of its own checkpoints)."""
    if resume is None:
        return False
    if resume == "auto":
        return True
    try:
        return Path(resume).expanduser().resolve().parent == out.expanduser().resolve()
    except (OSError, RuntimeError):
        return False
