"""Greedy state in numpy vectors, shared by the numpy and faiss backends.

The state is O(N): running min squared distance ``dmin2``, the selection key ``w² * dmin2`` and one
scratch vector, all float32. Subclasses only say how to fill squared row norms and squared
distances of every row to one centre.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np


def row_ranges(start: int, stop: int, step: int) -> Iterator[tuple[int, int]]:
    """Consecutive ``[a, b)`` row ranges of at most ``step`` rows covering ``[start, stop)``."""
    for a in range(start, stop, step):
        yield a, min(a + step, stop)


class HostBackend(ABC):
    """Running state of the greedy loop for a matrix in host memory (float32 or float16 rows)."""

    def __init__(self, X: np.ndarray, w2: np.ndarray, chunk_rows: int) -> None:
        self.X = X
        self.n, self.dim = X.shape
        self.chunk_rows = chunk_rows
        self._w2 = w2
        self._dmin2 = np.full(self.n, np.inf, dtype=np.float32)
        self._d2 = np.empty(self.n, dtype=np.float32)
        self._key = np.empty(self.n, dtype=np.float32)
        self._taken: list[int] = []
        self.sqnorms = np.empty(self.n, dtype=np.float32)
        self._fill_sqnorms(self.sqnorms)

    @abstractmethod
    def _fill_sqnorms(self, out: np.ndarray) -> None:
        """Write the float32 squared norm of every row into ``out``."""

    @abstractmethod
    def _fill_sqdist(self, center: int, out: np.ndarray) -> None:
        """Write the float32 squared distance of every row to row ``center`` into ``out``."""

    def center32(self, j: int) -> np.ndarray:
        """Row ``j`` as a contiguous float32 vector (exact for float16 storage)."""
        return np.ascontiguousarray(self.X[j], dtype=np.float32)

    def rows32(self, idx: np.ndarray) -> np.ndarray:
        """Float32 copies of the given rows (exact for float16 storage), for the exact tie-break."""
        return np.asarray(self.X[np.asarray(idx, dtype=np.int64)], dtype=np.float32)

    def fold(self, j: int) -> None:
        """Add row ``j`` as a centre: update ``dmin2`` and the keys; ``j`` is never picked again."""
        self._fill_sqdist(j, self._d2)
        np.minimum(self._dmin2, self._d2, out=self._dmin2)
        np.multiply(self._w2, self._dmin2, out=self._key)
        self._taken.append(j)
        self._key[self._taken] = -np.inf

    def best(self) -> tuple[int, float]:
        """Index of the largest key (lowest index on ties) and that key."""
        j = int(np.argmax(self._key))
        return j, float(self._key[j])

    def above(self, threshold: float) -> np.ndarray:
        """Unselected rows whose key is >= threshold, ascending."""
        return np.flatnonzero(self._key >= threshold)

    def approx_dmin2(self, i: int) -> float:
        """Float32 running min squared distance of row ``i``."""
        return float(self._dmin2[i])

    def close(self) -> None:
        """Release resources (thread pools); the numpy backend holds none."""
