"""A rich progress bar for training: step, reward, KL, completion length, tokens/s, ETA."""

from __future__ import annotations


class TrainProgress:
    """Context manager; ``update(step, metrics)`` after each step. Silent when disabled."""

    def __init__(self, total: int, start: int, *, enabled: bool = True) -> None:
        self.total, self.start, self.enabled = total, start, enabled
        self._bar = None

    def __enter__(self) -> "TrainProgress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TextColumn("eta"), TimeRemainingColumn(),
                                 console=Console(stderr=True))
            self._bar.__enter__()
            self._task = self._bar.add_task("train", total=self.total, completed=self.start, info="")
        return self

    def update(self, step: int, metrics: dict) -> None:
        if not self._bar:
            return
        info = (f"reward {metrics.get('reward/mean', 0):.3f}  kl {metrics.get('loss/kl', 0):.4f}  "
                f"len {metrics.get('completion/length_mean', 0):.0f}  {metrics.get('tokens_per_s', 0):.0f} tok/s")
        self._bar.update(self._task, completed=step, info=info)

    def __exit__(self, *exc) -> None:
        if self._bar:
            self._bar.__exit__(*exc)
