"""Distance backends of the coreset engine: numpy (BLAS), faiss (SIMD kernels), torch (CPU/CUDA).

Every backend keeps the greedy loop's O(N) state and answers the same few questions, so the
driver in :mod:`oprd.selectors.coreset` (tie-break, fill, progress) is written once.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any, Protocol

import numpy as np

from oprd.errors import OprdInputError

BACKENDS = ("auto", "numpy", "faiss", "torch")


class Backend(Protocol):
    """What the greedy driver needs from a backend."""

    n: int
    dim: int
    sqnorms: np.ndarray  # float32 squared row norms, on the host

    def fold(self, j: int) -> None: ...
    def best(self) -> tuple[int, float]: ...
    def above(self, threshold: float) -> np.ndarray: ...
    def approx_dmin2(self, i: int) -> float: ...
    def rows32(self, idx: np.ndarray) -> np.ndarray: ...
    def close(self) -> None: ...


def is_torch_tensor(X: Any) -> bool:
    """True for a torch tensor, without importing torch."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(X, torch.Tensor)


def resolve_backend(name: str, X: Any, device: str | None) -> str:
    """Turn "auto" into a concrete backend: torch for CUDA tensors or a device, else faiss, else numpy."""
    if name != "auto":
        _require(name)
        return name
    if device is not None or (is_torch_tensor(X) and X.device.type != "cpu"):
        return "torch"
    return "faiss" if importlib.util.find_spec("faiss") is not None else "numpy"


def make_backend(name: str, X: Any, w2: np.ndarray, chunk_rows: int | None, device: str | None) -> Backend:
    """Build a concrete backend over the storage matrix ``X`` with float32 key weights ``w2``.

    ``chunk_rows=None`` picks the backend's default: ~4 MB of float32 rows for numpy/faiss (the
    converted chunk stays in cache), ~64 MB for torch (fewer calls, each with threading overhead).
    """
    dim = X.shape[1]
    if name == "torch":
        from oprd.selectors.backends.torch_backend import TorchBackend

        return TorchBackend(X, w2, chunk_rows or _rows_for(64 << 20, dim), device)
    rows = chunk_rows or _rows_for(4 << 20, dim)
    if name == "faiss":
        from oprd.selectors.backends.faiss_backend import FaissBackend

        return FaissBackend(X, w2, rows)
    from oprd.selectors.backends.numpy_backend import NumpyBackend

    return NumpyBackend(X, w2, rows)


def _rows_for(nbytes: int, dim: int) -> int:
    """Rows of float32 ``dim``-vectors that fit in ``nbytes`` (at least one)."""
    return max(1, nbytes // (4 * dim))


def _require(name: str) -> None:
    """Fail early, with the fix, when an optional backend package is missing."""
    package = {"faiss": "faiss-cpu", "torch": "torch"}.get(name)
    if package and importlib.util.find_spec(name) is None:
        raise OprdInputError(f"backend={name!r} needs the {package!r} package; install it or use backend='numpy'.")
