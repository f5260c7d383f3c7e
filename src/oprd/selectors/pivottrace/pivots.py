"""Metacognitive pivots in a reasoning trace, from a per-token attention signal (numbers in, numbers out).

A trace is cut into steps at line breaks (steps shorter than ``min_step_tokens`` merge forward).
Each step gets ``r_k`` = the mean signal over its first ``head_tokens`` tokens, and step k is a
pivot when ``r_k > mu + kappa * sigma`` of the previous ``window`` steps' r, given more than
``window / 2`` previous steps (k counts from 0, so it is also the number of previous steps).
Uncertainty is pivots per step (``density``) or the pivot count (``count``). The lexical baseline
counts reflection words per step instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from oprd.errors import param_error

PIVOT_SCORES = ("density", "count")
REFLECTION_MARKERS = (
    "wait", "but", "hmm", "alternatively", "actually", "however", "let me check", "let me verify",
    "let me re-check", "let me recheck", "let's check", "let's verify", "double-check", "double check",
    "re-check", "recheck", "re-evaluate", "on second thought", "mistake", "instead",
)


@dataclass(frozen=True)
class PivotConfig:
    """Detector settings; defaults: docs/methods/pivottrace.md."""

    min_step_tokens: int = 8
    head_tokens: int = 16
    window: int = 8
    kappa: float = 2.0

    def validate(self) -> "PivotConfig":
        for name in ("min_step_tokens", "head_tokens", "window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise param_error(name, "PivotConfig", "an int >= 1", value)
        if not np.isfinite(self.kappa) or self.kappa < 0:
            raise param_error("kappa", "PivotConfig", "a finite float >= 0", self.kappa)
        return self


@dataclass(frozen=True)
class TracePivots:
    """One trace: its steps as ``[start, stop)`` token spans, step signals and pivot flags."""

    steps: list[tuple[int, int]]
    signals: np.ndarray
    pivots: np.ndarray

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    @property
    def n_pivots(self) -> int:
        return int(self.pivots.sum())

    def score(self, kind: str = "density") -> float:
        """``density`` = pivots / steps (0 for an empty trace) or ``count`` = pivots."""
        if kind not in PIVOT_SCORES:
            raise param_error("score", "TracePivots", "one of " + ", ".join(map(repr, PIVOT_SCORES)), kind)
        if kind == "count":
            return float(self.n_pivots)
        return self.n_pivots / self.n_steps if self.n_steps else 0.0


def segment_steps(line_break: Sequence[bool], min_tokens: int = 8) -> list[tuple[int, int]]:
    """Token spans of the steps: a line ends after each token holding a line break.

    Lines are accumulated until a step has at least ``min_tokens`` tokens (so a short header line
    joins what follows it); a short remainder at the end joins the last step.
    """
    n = len(line_break)
    steps: list[tuple[int, int]] = []
    start = 0
    for t in range(n):
        if line_break[t] and t + 1 - start >= min_tokens:
            steps.append((start, t + 1))
            start = t + 1
    if start < n:
        if steps and n - start < min_tokens:
            steps[-1] = (steps[-1][0], n)
        else:
            steps.append((start, n))
    return steps


def step_signals(signal: np.ndarray, steps: Sequence[tuple[int, int]], head_tokens: int = 16) -> np.ndarray:
    """``r_k``: the mean of ``signal`` over the first ``head_tokens`` tokens of each step."""
    signal = np.asarray(signal, dtype=np.float64)
    return np.array([signal[a : min(b, a + head_tokens)].mean() for a, b in steps], dtype=np.float64)


def detect_pivots(signals: np.ndarray, window: int = 8, kappa: float = 2.0) -> np.ndarray:
    """Boolean pivot flag per step: a jump above the recent mean by ``kappa`` standard deviations."""
    r = np.asarray(signals, dtype=np.float64)
    flags = np.zeros(len(r), dtype=bool)
    for k in range(len(r)):
        if k * 2 <= window:
            continue
        previous = r[max(0, k - window) : k]
        flags[k] = r[k] > previous.mean() + kappa * previous.std()
    return flags


def trace_pivots(signal: np.ndarray, line_break: Sequence[bool], config: PivotConfig | None = None) -> TracePivots:
    """Steps, step signals and pivots of one trace (``signal`` and ``line_break``: one entry per token)."""
    config = (config or PivotConfig()).validate()
    if len(signal) != len(line_break):
        raise ValueError(f"signal has {len(signal)} tokens but line_break has {len(line_break)}")
    steps = segment_steps(line_break, config.min_step_tokens)
    signals = step_signals(signal, steps, config.head_tokens)
    return TracePivots(steps, signals, detect_pivots(signals, config.window, config.kappa))


def marker_pattern(markers: Sequence[str] = REFLECTION_MARKERS) -> re.Pattern[str]:
    """One case-insensitive regex matching any marker as whole words."""
    alternatives = "|".join(re.escape(m).replace(r"\ ", r"\s+") for m in sorted(markers, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


def lexical_score(step_texts: Sequence[str], markers: Sequence[str] = REFLECTION_MARKERS) -> float:
    """Reflection markers per step (the keyword baseline; 0 for an empty trace)."""
    if not step_texts:
        return 0.0
    pattern = marker_pattern(markers)
    return sum(len(pattern.findall(text)) for text in step_texts) / len(step_texts)


def average_over_trajectories(values: Sequence[float], k: int) -> np.ndarray:
    """Per-prompt mean of prompt-major values with ``k`` trajectories per prompt."""
    array = np.asarray(values, dtype=np.float64)
    if k < 1 or array.size % k:
        raise ValueError(f"{array.size} values do not split into groups of k={k}")
    return array.reshape(-1, k).mean(axis=1)
