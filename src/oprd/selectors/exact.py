"""Float64 scores for the few rows a float32 step cannot rank with certainty.

Backends compute float32 distances whose last bits depend on summation order (BLAS blocking,
SIMD width, GPU reductions). When several rows are within the float32 error bound of the best
key, the driver asks this scorer for ``w * dmin`` in float64, computed the same way whatever the
backend: per pair, ``sum((x - c)²)`` over a contiguous float64 row (numpy's per-row pairwise sum,
independent of how many rows are batched). Results are cached per row and brought up to date
lazily with the centres added since, so each (row, centre) pair is computed at most once.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

_BLOCK = 2048  # rows fetched at once from the storage matrix


def _sqdist_to(rows: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Float64 squared distances of each row to ``v``."""
    diff = rows - v
    return (diff * diff).sum(axis=1)


def _min_sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """For each row of ``A``, the min squared distance to the rows of ``B`` (loops the shorter side)."""
    if len(A) <= len(B):
        return np.array([_sqdist_to(B, a).min() for a in A])
    out = np.full(len(A), np.inf)
    for b in B:
        np.minimum(out, _sqdist_to(A, b), out=out)
    return out


def _row_key(row: np.ndarray) -> bytes:
    """Bytes identifying a row's values (-0.0 folded into 0.0), to spot exact duplicates."""
    return (row + 0.0).tobytes()


class ExactScorer:
    """Cached float64 ``weight * min_distance_to_centres`` for candidate rows."""

    def __init__(self, rows64: Callable[[np.ndarray], np.ndarray], weights: np.ndarray) -> None:
        self._rows64 = rows64
        self._w = weights
        self._centers: list[int] = []
        self._center_keys: set[bytes] = set()
        self._d2: dict[int, float] = {}
        self._upto: dict[int, int] = {}  # number of centres folded into _d2[i]

    def add_center(self, j: int) -> None:
        """Register a selected (or seed) row as a centre."""
        self._centers.append(j)
        self._center_keys.add(_row_key(self._rows64(np.array([j]))[0]))

    def scores(self, idx: np.ndarray) -> np.ndarray:
        """Float64 scores of the rows ``idx`` (zero weight -> 0 without any distance work)."""
        out = np.zeros(len(idx))
        live = self._w[idx] > 0
        rows = [int(i) for i in idx[live]]
        self._refresh(rows)
        d2 = np.array([self._d2[i] for i in rows], dtype=np.float64)
        out[live] = self._w[idx[live]] * np.sqrt(d2)
        return out

    def _refresh(self, rows: list[int]) -> None:
        """Fold every centre not yet seen by each row into its cached min squared distance.

        A row equal to a centre has distance exactly 0 and needs no further work; this keeps the
        check "are all remaining scores 0?" at O(rows * dim) on pools full of duplicates.
        """
        k = len(self._centers)
        new = [i for i in rows if i not in self._upto]
        for start in range(0, len(new), _BLOCK):
            block = new[start : start + _BLOCK]
            for i, row in zip(block, self._rows64(np.array(block))):
                duplicate = _row_key(row) in self._center_keys
                self._d2[i] = 0.0 if duplicate else np.inf
                self._upto[i] = k if duplicate else 0
        groups: dict[int, list[int]] = {}
        for i in rows:
            if self._upto[i] < k and self._d2[i] > 0.0:
                groups.setdefault(self._upto[i], []).append(i)
        for upto, members in groups.items():
            pending = self._centers[upto:]
            for start in range(0, len(members), _BLOCK):
                block = members[start : start + _BLOCK]
                A = self._rows64(np.array(block))
                best = np.array([self._d2[i] for i in block])
                for c0 in range(0, len(pending), _BLOCK):
                    B = self._rows64(np.array(pending[c0 : c0 + _BLOCK]))
                    np.minimum(best, _min_sqdist(A, B), out=best)
                for i, value in zip(block, best):
                    self._d2[i] = float(value)
                    self._upto[i] = k
