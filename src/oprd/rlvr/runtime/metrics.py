"""Metrics sinks: ``metrics.jsonl`` always; tensorboard, wandb and trackio when asked; and the
completions table (``completions.jsonl``, plus a table in the trackers) every ``log_completions_steps``."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from oprd.errors import OprdInputError


class MetricsLogger:
    """Appends one JSON line per step; mirrors scalars to the optional trackers."""

    def __init__(self, out_dir: Path, trackers: list[str], *, run_name: str, config: dict, resume_step: int = 0) -> None:
        self.path = out_dir / "metrics.jsonl"
        self.completions_path = out_dir / "completions.jsonl"
        for path in (self.path, self.completions_path):
            _truncate_after(path, resume_step)
        self._trackers = trackers
        self._writer = None  # the tensorboard writer, when tensorboard is on (for the completions table)
        self._sinks = [self._open(name, out_dir, run_name, config) for name in trackers]

    def _open(self, name: str, out_dir: Path, run_name: str, config: dict):
        try:
            if name == "tensorboard":
                from torch.utils.tensorboard import SummaryWriter

                writer = SummaryWriter(str(out_dir / "tensorboard"))
                self._writer = writer
                return lambda step, scalars: [writer.add_scalar(k, v, step) for k, v in scalars.items()] and writer.flush()
            if name == "wandb":
                import wandb

                run = wandb.init(project="oprd", name=run_name, config=config, dir=str(out_dir))
                return lambda step, scalars: run.log(scalars, step=step)
            if name == "trackio":
                import trackio

                trackio.init(project="oprd", name=run_name, config=config)
                return lambda step, scalars: trackio.log(scalars, step=step)
        except ImportError as error:
            raise OprdInputError(f"logging to {name} needs its package ({error.name}); pip install 'oprd[tracking]'") from None
        raise OprdInputError(f"unknown logger {name!r}; use tensorboard, wandb or trackio")

    def log(self, step: int, scalars: dict[str, float]) -> None:
        clean = {k: float(v) for k, v in scalars.items() if v is not None and math.isfinite(float(v))}
        _append_lines(self.path, [{"step": step, **clean}])
        for sink in self._sinks:
            sink(step, clean)

    def log_completions(self, step: int, rows: list[dict]) -> None:
        """Append one line per completion to ``completions.jsonl`` and send the table to the trackers."""
        _append_lines(self.completions_path, [{"step": step, **row} for row in rows])
        columns = sorted({key for row in rows for key in row})
        cells = [[json.dumps(row.get(c)) if isinstance(row.get(c), (list, dict)) else row.get(c) for c in columns]
                 for row in rows]
        if "wandb" in self._trackers:
            import wandb

            wandb.log({"completions": wandb.Table(columns=columns, data=cells)}, step=step)
        if "trackio" in self._trackers:
            import trackio

            trackio.log({"completions": trackio.Table(columns=columns, data=cells)}, step=step)
        if self._writer is not None:
            header = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
            body = "".join("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in r) + " |\n"
                           for r in cells)
            self._writer.add_text("completions", header + body, step)


def _append_lines(path: Path, records: list[dict]) -> None:
    """Append JSON lines; O_NOFOLLOW: a symbolic link planted at the path is an error, never a write elsewhere."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o666), "a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(record) + "\n" for record in records))


def _truncate_after(path: Path, step: int) -> None:
    """Drop lines logged after the step this run starts from (they will be logged again); a run from
    step 0 keeps none, so a run never appends to lines it did not write. Rewritten atomically."""
    from oprd.data.atomic import atomic_write_text

    if not os.path.lexists(path):
        return
    kept = [line for line in path.read_text().splitlines() if _step_of(line) <= step]
    atomic_write_text(path, "".join(line + "\n" for line in kept))


def _step_of(line: str) -> float:
    """The step of a metrics line; a blank or torn line (a run killed mid-write) sorts after every step."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return math.inf
    return record.get("step", 0) if isinstance(record, dict) else math.inf
