"""Progress on stderr: rich bars on a terminal, plain timed lines everywhere else; silent when disabled.

Under CI, ``nohup``, SLURM or a pipe, stderr is not a terminal and a redrawn bar shows nothing until it
ends, so a long selection would log not one line. There a background thread prints one plain line every
``OPRD_PROGRESS_INTERVAL`` seconds (default 30) with the stage, done/total, rate and ETA, whether or not
work advanced since the last line, plus a line when the stage starts and when it ends.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

DEFAULT_INTERVAL_S = 30.0


@contextmanager
def progress_bar(description: str, total: int, *, enabled: bool = True, unit: str = "it",
                 stream: TextIO | None = None, interval: float | None = None) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; shows count, rate and ETA on ``stream`` (stderr) while the block runs.

    ``interval`` (seconds between plain lines when ``stream`` is not a terminal) defaults to
    ``$OPRD_PROGRESS_INTERVAL`` or 30.
    """
    if not enabled:
        yield lambda n=1: None
        return
    stream = stream if stream is not None else sys.stderr
    if _is_terminal(stream):
        with _rich_bar(description, total, unit, stream) as advance:
            yield advance
        return
    plain = PlainProgress(description, total, unit, stream, interval if interval is not None else _interval())
    with plain:
        yield plain.advance


class PlainProgress:
    """Plain progress lines at a steady interval from a daemon thread (for logs, not terminals)."""

    def __init__(self, description: str, total: int, unit: str, stream: TextIO, interval: float) -> None:
        self.description, self.total, self.unit, self.stream, self.interval = description, total, unit, stream, interval
        self.done = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._start = 0.0
        self._thread = threading.Thread(target=self._run, name=f"oprd-progress-{description}", daemon=True)

    def __enter__(self) -> PlainProgress:
        self._start = time.monotonic()
        self._emit(f"[oprd] {self.description}: started, {self.total} {self.unit}")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        elapsed = time.monotonic() - self._start
        status = "done" if exc[0] is None else "stopped"
        self._emit(f"[oprd] {self.description}: {status}, {self.done}/{self.total} {self.unit} in "
                   f"{format_duration(elapsed)}")

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units done."""
        with self._lock:
            self.done += n

    def line(self, now: float | None = None) -> str:
        """The progress line for the state at ``now`` (monotonic seconds)."""
        elapsed = max((now if now is not None else time.monotonic()) - self._start, 1e-9)
        with self._lock:
            done = self.done
        rate = done / elapsed
        share = f" ({100.0 * done / self.total:.1f}%)" if self.total else ""
        eta = format_duration((self.total - done) / rate) if rate > 0 and self.total >= done else "?"
        return (f"[oprd] {self.description}: {done}/{self.total}{share}, {rate:.2f} {self.unit}/s, "
                f"elapsed {format_duration(elapsed)}, eta {eta}")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._emit(self.line())

    def _emit(self, text: str) -> None:
        try:
            print(text, file=self.stream, flush=True)
        except (OSError, ValueError):  # a closed or broken stream must never stop the work
            pass


def format_duration(seconds: float) -> str:
    """``42s``, ``6m17s``, ``2h05m``."""
    total = int(round(seconds))
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{(total % 3600) // 60:02d}m"


def _interval() -> float:
    """``$OPRD_PROGRESS_INTERVAL`` seconds when it is a positive number, else 30."""
    try:
        value = float(os.environ.get("OPRD_PROGRESS_INTERVAL", DEFAULT_INTERVAL_S))
    except ValueError:
        return DEFAULT_INTERVAL_S
    return value if value > 0 else DEFAULT_INTERVAL_S


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


@contextmanager
def _rich_bar(description: str, total: int, unit: str, stream: TextIO) -> Iterator[Callable[[int], None]]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[cyan]{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(file=stream), transient=False) as bar:
        task = bar.add_task(description, total=total, rate="")

        def advance(n: int = 1) -> None:
            bar.advance(task, n)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:.2f} {unit}/s" if speed else "")

        yield advance
