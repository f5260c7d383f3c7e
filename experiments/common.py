"""Shared helpers of the experiment scripts: bootstrap intervals, Spearman, logging, outputs, the machine.

Statistics only; everything model-side comes from the oprd library itself.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from oprd.errors import OprdInputError


def bootstrap_interval(values: Sequence[Any] | np.ndarray, statistic: Callable[[np.ndarray], float], *,
                       n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over rows of ``values`` (resampled with replacement).

    Resamples whose statistic is not finite (e.g. a Spearman of a constant resample) are dropped.
    Returns ``(nan, nan)`` when fewer than two rows are given.
    """
    data = np.asarray(values)
    if len(data) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = np.array([statistic(data[rng.integers(0, len(data), len(data))]) for _ in range(n_boot)], dtype=float)
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0
    return float(np.quantile(draws, tail)), float(np.quantile(draws, 1.0 - tail))


def mean_with_interval(values: Sequence[float] | np.ndarray, *, n_boot: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean of ``values`` with its bootstrap 95% interval (``n`` = number of values)."""
    data = np.asarray(values, dtype=float)
    lo, hi = bootstrap_interval(data, np.mean, n_boot=n_boot, seed=seed)
    return {"value": float(data.mean()) if len(data) else float("nan"), "lo": lo, "hi": hi, "n": int(len(data))}


def spearman_with_interval(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *,
                           n_boot: int = 2000, seed: int = 0) -> dict[str, float]:
    """Spearman rho of paired ``x``, ``y`` (pairs with a NaN dropped), its p-value, and a bootstrap
    95% interval over pairs."""
    from scipy.stats import spearmanr

    pairs = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    pairs = pairs[np.isfinite(pairs).all(axis=1)]
    if len(pairs) < 3:
        return {"rho": float("nan"), "lo": float("nan"), "hi": float("nan"), "p": float("nan"), "n": int(len(pairs))}

    def rho_of(sample: np.ndarray) -> float:
        if np.ptp(sample[:, 0]) == 0 or np.ptp(sample[:, 1]) == 0:
            return float("nan")
        return float(spearmanr(sample[:, 0], sample[:, 1])[0])

    if np.ptp(pairs[:, 0]) == 0 or np.ptp(pairs[:, 1]) == 0:  # constant: rho undefined
        return {"rho": float("nan"), "lo": float("nan"), "hi": float("nan"), "p": float("nan"), "n": int(len(pairs))}
    result = spearmanr(pairs[:, 0], pairs[:, 1])
    lo, hi = bootstrap_interval(pairs, rho_of, n_boot=n_boot, seed=seed)
    return {"rho": float(result[0]), "lo": lo, "hi": hi, "p": float(result[1]), "n": int(len(pairs))}


def fmt_interval(entry: dict[str, float], digits: int = 2) -> str:
    """``0.31 [0.22, 0.40]``; a NaN value (a constant score, or fewer than 3 values) says so instead."""
    value = entry.get("value", entry.get("rho"))
    if not np.isfinite(value):
        return "undefined (constant, or < 3 values)"
    return f"{value:.{digits}f} [{entry['lo']:.{digits}f}, {entry['hi']:.{digits}f}]"


def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU model, cores, torch threads, OS."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "python": platform.python_version(), "torch": torch.__version__}


class Clock:
    """Wall time since start, and one log line per event on stderr."""

    def __init__(self) -> None:
        self.start = time.time()

    def seconds(self) -> float:
        return round(time.time() - self.start, 1)

    def log(self, message: str) -> None:
        print(f"[{time.time() - self.start:7.0f} s] {message}", file=sys.stderr, flush=True)


def make_pool(tasks: str, n: int, seed: int):
    """``oprd data make`` problems as a pool, sources interleaved round-robin, so every chunk (and so
    every partial run) holds each source in the same proportion."""
    from oprd.data import Pool, make_problems

    by_source: dict[str, list[dict[str, Any]]] = {}
    for row in make_problems(tasks, n, seed):
        by_source.setdefault(str(row.get("source", "")), []).append(row)
    queues = list(by_source.values())
    rows = [queue[i] for i in range(max(map(len, queues))) for queue in queues if i < len(queue)]
    return Pool.from_rows(rows)


class NotCached(Exception):
    """Raised inside :func:`refuse_generation` where a rollout would have to be generated."""


@contextmanager
def refuse_generation(active: bool = True) -> Iterator[None]:
    """While active, anything that would generate with the HF backend raises :class:`NotCached`
    instead, so a caller reads cached rollouts and skips the rest (``--no-new-samples``)."""
    import oprd.generation as generation

    original = generation.HFGenerator

    class Refuse:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise NotCached()

    if active:
        generation.HFGenerator = Refuse
    try:
        yield
    finally:
        generation.HFGenerator = original


def chunks(indices: Sequence[int], size: int) -> list[list[int]]:
    """``indices`` in consecutive groups of ``size`` (the unit of caching and resuming)."""
    items = list(indices)
    return [items[lo : lo + size] for lo in range(0, len(items), size)]


def write_outputs(out_dir: Path, results: dict[str, Any], table: str) -> None:
    """``results.json`` and ``table.md`` in ``out_dir``, each written atomically."""
    from oprd.data.atomic import atomic_write_bytes

    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "results.json", (json.dumps(results, indent=2, default=float) + "\n").encode())
    atomic_write_bytes(out_dir / "table.md", table.encode())


def positive_int(name: str, value: int) -> int:
    """``value`` if it is an int >= 1, else the one-line input error."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OprdInputError(f"--{name.replace('_', '-')} must be an int >= 1; got {value!r}")
    return value


def run_main(main: Callable[[], None]) -> None:
    """Run ``main``; a known input error becomes one ``error: ...`` line and exit code 2."""
    try:
        main()
    except OprdInputError as error:
        if os.environ.get("OPRD_DEBUG") == "1":
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
