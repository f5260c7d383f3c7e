"""faiss backend: faiss's SIMD brute-force kernels, rows split over threads.

``fvec_L2sqr_ny`` sums ``(x - c)²`` directly (one pass over the matrix, exact zero for duplicate
rows). faiss releases the GIL, so each of ``omp_get_max_threads()`` threads takes one contiguous
slice of rows. float16 rows are decoded to float32 by faiss's fp16 scalar quantizer, at most
``chunk_rows`` (and 1000) rows at a time into one buffer per thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from oprd.selectors.backends.host import HostBackend, row_ranges

_SERIAL_ROWS = 1000  # faiss's fp16 decode and norm loops stay single-threaded up to here


class FaissBackend(HostBackend):
    """Distances from ``faiss.fvec_L2sqr_ny`` over thread-parallel row slices."""

    def __init__(self, X: np.ndarray, w2: np.ndarray, chunk_rows: int) -> None:
        import faiss

        self._faiss = faiss
        n, dim = X.shape
        n_threads = max(1, min(faiss.omp_get_max_threads(), n))
        self._slices = [(int(s[0]), int(s[-1]) + 1) for s in np.array_split(np.arange(n), n_threads)]
        self._pool = ThreadPoolExecutor(max_workers=n_threads)
        self._step = min(chunk_rows, _SERIAL_ROWS)
        self._decoder = None
        if X.dtype == np.float16:
            self._decoder = faiss.ScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16)
            self._codes = X.view(np.uint8)
            self._bufs = [np.empty((min(self._step, n), dim), dtype=np.float32) for _ in range(n_threads)]
        super().__init__(X, w2, chunk_rows)

    def _blocks(self, part: int, whole: bool) -> Iterator[tuple[int, int, np.ndarray]]:
        """Float32 ``(a, b, rows[a:b])`` blocks of one thread's slice.

        float32: the whole slice when ``whole``, else views of at most ``_SERIAL_ROWS`` rows;
        float16: decoded chunks of at most ``_SERIAL_ROWS`` rows. faiss parallelises norms and
        decoding above about that many rows with OpenMP; we already run one thread per core.
        """
        start, stop = self._slices[part]
        if self._decoder is None and whole:
            yield start, stop, self.X[start:stop]
            return
        for a, b in row_ranges(start, stop, self._step):
            if self._decoder is None:
                yield a, b, self.X[a:b]
                continue
            buf = self._bufs[part]
            self._decoder.decode_c(self._faiss.swig_ptr(self._codes[a:b]), self._faiss.swig_ptr(buf), b - a)
            yield a, b, buf[: b - a]

    def _parallel(self, work: Callable[[int], None]) -> None:
        """Run ``work(part)`` for every row slice on the thread pool; re-raise the first error."""
        for future in [self._pool.submit(work, part) for part in range(len(self._slices))]:
            future.result()

    def _fill_sqnorms(self, out: np.ndarray) -> None:
        ptr = self._faiss.swig_ptr

        def work(part: int) -> None:
            for a, b, block in self._blocks(part, whole=False):
                self._faiss.fvec_norms_L2sqr(ptr(out[a:b]), ptr(block), self.dim, b - a)

        self._parallel(work)

    def _fill_sqdist(self, center: int, out: np.ndarray) -> None:
        ptr = self._faiss.swig_ptr
        c = self.center32(center)

        def work(part: int) -> None:
            for a, b, block in self._blocks(part, whole=True):
                self._faiss.fvec_L2sqr_ny(ptr(out[a:b]), ptr(c), ptr(block), self.dim, b - a)

        self._parallel(work)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
