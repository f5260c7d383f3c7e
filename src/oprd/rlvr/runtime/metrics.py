"""Metrics sinks: ``metrics.jsonl`` always; tensorboard, wandb and trackio when asked."""

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
        self._truncate_after(resume_step)
        self._sinks = [self._open(name, out_dir, run_name, config) for name in trackers]

    def _truncate_after(self, step: int) -> None:
        """Drop lines logged after the step this run starts from (they will be logged again); a run from
        step 0 keeps none, so a run never appends to lines it did not write. Rewritten atomically."""
        from oprd.data.atomic import atomic_write_text

        if not os.path.lexists(self.path):
            return
        kept = [line for line in self.path.read_text().splitlines() if _step_of(line) <= step]
        atomic_write_text(self.path, "".join(line + "\n" for line in kept))

    @staticmethod
    def _open(name: str, out_dir: Path, run_name: str, config: dict):
        try:
            if name == "tensorboard":
                from torch.utils.tensorboard import SummaryWriter

                writer = SummaryWriter(str(out_dir / "tensorboard"))
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
        # O_NOFOLLOW: a symbolic link planted at metrics.jsonl is an error, never a write elsewhere.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(self.path, flags, 0o666), "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"step": step, **clean}) + "\n")
        for sink in self._sinks:
            sink(step, clean)


def _step_of(line: str) -> float:
    """The step of a metrics line; a blank or torn line (a run killed mid-write) sorts after every step."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return math.inf
    return record.get("step", 0) if isinstance(record, dict) else math.inf
