"""torch backend: the greedy state lives on the tensor's device (CPU or CUDA).

Squared distances use ``||x||² - 2 x·c + ||c||²`` like the numpy backend. ``torch.mv`` is used
only while float32 matmul precision is "highest"; otherwise (TF32/bf16 allowed) the dot products
come from ``torch.linalg.vecdot`` so that float32 accuracy, which the exact tie-break relies on,
holds. float16 rows are converted ``chunk_rows`` at a time into one float32 buffer.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np


class TorchBackend:
    """Running state of the greedy loop as torch tensors on one device."""

    def __init__(self, X: Any, w2: np.ndarray, chunk_rows: int, device: str | None) -> None:
        import torch

        self._torch = torch
        if isinstance(X, np.ndarray):
            with warnings.catch_warnings():  # read-only arrays (memmaps): we never write to X
                warnings.simplefilter("ignore", UserWarning)
                X = torch.from_numpy(X)
        self.X = X.to(device) if device is not None else X
        dev = self.X.device
        self.n, self.dim = self.X.shape
        self.chunk_rows = chunk_rows
        self._use_mv = torch.get_float32_matmul_precision() == "highest"
        self._buf = None
        if self.X.dtype != torch.float32:
            self._buf = torch.empty((min(chunk_rows, self.n), self.dim), dtype=torch.float32, device=dev)
        self._w2 = torch.from_numpy(w2).to(dev)
        self._dmin2 = torch.full((self.n,), float("inf"), dtype=torch.float32, device=dev)
        self._d2 = torch.empty(self.n, dtype=torch.float32, device=dev)
        self._key = torch.empty(self.n, dtype=torch.float32, device=dev)
        self._taken: list[int] = []
        self._sqn = torch.empty(self.n, dtype=torch.float32, device=dev)
        for a, b, block in self._blocks(whole=False):
            self._sqn[a:b] = torch.linalg.vecdot(block, block)
        self.sqnorms = self._sqn.cpu().numpy()

    def _blocks(self, whole: bool) -> Iterator[tuple[int, int, Any]]:
        """Float32 ``(a, b, rows[a:b])`` blocks.

        A float32 matrix is one block when ``whole`` (for ``mv``, which allocates nothing), else
        ``chunk_rows`` views (``vecdot`` allocates a block-sized product); float16 is converted
        chunk by chunk into the buffer.
        """
        if self._buf is None and whole:
            yield 0, self.n, self.X
            return
        for a in range(0, self.n, self.chunk_rows):
            b = min(a + self.chunk_rows, self.n)
            if self._buf is None:
                yield a, b, self.X[a:b]
            else:
                block = self._buf[: b - a]
                block.copy_(self.X[a:b])
                yield a, b, block

    def center32(self, j: int) -> Any:
        """Row ``j`` as a float32 tensor on the device."""
        return self.X[j].to(self._torch.float32)

    def rows32(self, idx: np.ndarray) -> np.ndarray:
        """Float32 numpy copies of the given rows, for the exact tie-break."""
        index = self._torch.as_tensor(np.asarray(idx, dtype=np.int64), device=self.X.device)
        return self.X[index].to(device="cpu", dtype=self._torch.float32).numpy()

    def fold(self, j: int) -> None:
        """Add row ``j`` as a centre: update ``dmin2`` and the keys; ``j`` is never picked again."""
        torch = self._torch
        c = self.center32(j)
        for a, b, block in self._blocks(whole=self._use_mv):
            if self._use_mv:
                torch.mv(block, c, out=self._d2[a:b])
            else:
                self._d2[a:b] = torch.linalg.vecdot(block, c)
        self._d2.mul_(-2.0).add_(self._sqn).add_(self._sqn[j])
        torch.minimum(self._dmin2, self._d2, out=self._dmin2)
        torch.mul(self._w2, self._dmin2, out=self._key)
        self._taken.append(j)
        self._key[torch.as_tensor(self._taken, device=self._key.device)] = float("-inf")

    def best(self) -> tuple[int, float]:
        """Index of the largest key (torch.argmax returns the first maximum) and that key."""
        j = int(self._torch.argmax(self._key))
        return j, float(self._key[j])

    def above(self, threshold: float) -> np.ndarray:
        """Unselected rows whose key is >= threshold, ascending."""
        return self._torch.nonzero(self._key >= threshold).flatten().cpu().numpy()

    def approx_dmin2(self, i: int) -> float:
        """Float32 running min squared distance of row ``i``."""
        return float(self._dmin2[i])

    def close(self) -> None:
        """Nothing to release: tensors go with the object."""
