"""numpy backend: one BLAS matrix-vector product per pick.

Squared distances use the expansion ``||x||² - 2 x·c + ||c||²`` with float32 norms computed once.
A float32 matrix is multiplied in one call (the product only allocates the N-vector it returns);
a float16 matrix is converted to float32 ``chunk_rows`` rows at a time into one reused buffer, so
no full float32 copy ever exists.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from oprd.selectors.backends.host import HostBackend, row_ranges


class NumpyBackend(HostBackend):
    """Distances from BLAS ``sgemv`` on float32 blocks of the matrix."""

    def __init__(self, X: np.ndarray, w2: np.ndarray, chunk_rows: int) -> None:
        self._buf = None
        if X.dtype != np.float32:
            self._buf = np.empty((min(chunk_rows, X.shape[0]), X.shape[1]), dtype=np.float32)
        super().__init__(X, w2, chunk_rows)

    def _blocks(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """Float32 ``(a, b, rows[a:b])`` blocks: the whole matrix, or converted chunks."""
        if self._buf is None:
            yield 0, self.n, self.X
            return
        for a, b in row_ranges(0, self.n, len(self._buf)):
            block = self._buf[: b - a]
            np.copyto(block, self.X[a:b])
            yield a, b, block

    def _fill_sqnorms(self, out: np.ndarray) -> None:
        for a, b, block in self._blocks():
            np.einsum("ij,ij->i", block, block, out=out[a:b])

    def _fill_sqdist(self, center: int, out: np.ndarray) -> None:
        c = self.center32(center)
        for a, b, block in self._blocks():
            np.matmul(block, c, out=out[a:b])
        out *= np.float32(-2.0)
        out += self.sqnorms
        out += self.sqnorms[center]
