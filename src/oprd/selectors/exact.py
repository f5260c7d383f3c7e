"""Float64 scores for the few rows a float32 step cannot rank with certainty.

Backends compute float32 distances whose last bits depend on summation order (BLAS blocking,
SIMD width, GPU reductions). When several rows are within the float32 error bound of the best
key, the driver asks this scorer for ``w * dmin`` in float64, computed the same way whatever the
backend: per (row, centre) pair, ``sum((x - c)²)`` over a contiguous float64 row (numpy's per-row
pairwise sum, independent of how many rows are batched).

To keep this cheap, a float32 BLAS pass first bounds each row's distances to the pending centres;
only centres within twice the float32 error bound of the row's smallest approximate distance
can hold the float64 minimum, and only those pairs are computed in float64. Results are cached
per row and brought up to date lazily with the centres added since.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_BLOCK = 2048  # rows (candidates or centres) handled at once
_FEW_ROWS = 8  # candidate rows up to which the float32 pass skips BLAS
_PAIR_ELEMS = 1 << 22  # float64 elements of (row - centre) differences held at once


def _row_key(row: np.ndarray) -> bytes:
    """Bytes identifying a row's values (-0.0 folded into 0.0), to spot exact duplicates."""
    return (row + np.float32(0.0)).tobytes()


class ExactScorer:
    """Cached float64 ``weight * min_distance_to_centres`` for candidate rows.

    ``rows32`` returns float32 copies of rows (exact for float32/float16 storage); ``slack``
    bounds the error of a float32 squared distance between two rows of the matrix.
    """

    def __init__(self, rows32: Callable[[np.ndarray], np.ndarray], weights: np.ndarray, slack: float) -> None:
        self._rows32 = rows32
        self._w = weights
        self._slack = slack
        self._centers: list[int] = []
        self._center_keys: set[bytes] = set()
        self._d2: dict[int, float] = {}
        self._upto: dict[int, int] = {}  # number of centres folded into _d2[i]

    def add_center(self, j: int) -> None:
        """Register a selected (or seed) row as a centre."""
        self._centers.append(j)
        self._center_keys.add(_row_key(self._rows32(np.array([j]))[0]))

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
            for i, row in zip(block, self._rows32(np.array(block)), strict=True):
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
                A = self._rows32(np.array(block))
                best = np.array([self._d2[i] for i in block])
                for c0 in range(0, len(pending), _BLOCK):
                    C = self._rows32(np.array(pending[c0 : c0 + _BLOCK]))
                    np.minimum(best, self._block_min(A, C), out=best)
                for i, value in zip(block, best, strict=True):
                    self._d2[i] = float(value)
                    self._upto[i] = k

    def _block_min(self, A: np.ndarray, C: np.ndarray) -> np.ndarray:
        """Float64 min squared distance of each row of ``A`` to the rows of ``C``.

        The float32 pass (any summation order, error <= slack per entry) keeps, per row, the
        centres within ``2 * slack`` of its smallest approximate distance: a superset of the
        centres that can attain the float64 minimum. Each kept pair is then summed in float64
        over one contiguous difference row, the same arithmetic whatever the batching.
        """
        approx = np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", C, C)[None, :]
        # A few rows (the usual case): einsum, single-threaded, beats a multi-threaded BLAS call
        # whose thread start-up dominates such small products.
        dots = np.einsum("ij,kj->ik", A, C) if len(A) <= _FEW_ROWS else A @ C.T
        approx -= 2.0 * dots
        near = approx <= approx.min(axis=1, keepdims=True) + np.float32(2.0 * self._slack)
        rows, cols = np.nonzero(near)
        out = np.full(len(A), np.inf)
        step = max(1, _PAIR_ELEMS // A.shape[1])
        for s in range(0, len(rows), step):
            r, c = rows[s : s + step], cols[s : s + step]
            diff = A[r].astype(np.float64) - C[c].astype(np.float64)
            np.minimum.at(out, r, (diff * diff).sum(axis=1))
        return out
