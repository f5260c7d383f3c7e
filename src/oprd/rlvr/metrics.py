"""Metrics sinks: ``metrics.jsonl`` always; tensorboard, wandb and trackio when asked."""

from __future__ import annotations

import json
import math
from pathlib import Path

from oprd.errors import OprdInputError


class MetricsLogger:
    """Appends one JSON line per step; mirrors scalars to the optional trackers."""

    def __init__(self, out_dir: Path, trackers: list[str], *, run_name: str, config: dict, resume_step: int = 0) -> None:
        self.path = out_dir / "metrics.jsonl"
        if resume_step:
            self._truncate_after(resume_step)
        self._sinks = [self._open(name, out_dir, run_name, config) for name in trackers]

    def _truncate_after(self, step: int) -> None:
        """On resume, drop lines logged after the checkpoint (they will be logged again)."""
        if not self.path.is_file():
            return
        kept = [line for line in self.path.read_text().splitlines() if line and json.loads(line).get("step", 0) <= step]
        self.path.write_text("".join(line + "\n" for line in kept))

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
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"step": step, **clean}) + "\n")
        for sink in self._sinks:
            sink(step, clean)
