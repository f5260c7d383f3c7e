"""Quality-weighted farthest-first selection (k-center greedy): float arrays in, indices out.

Algorithm (SHIFT spec): the first pick is the largest weight (or ``first``); every next pick is
``argmax_{i not selected} w_i * dmin_i`` with ``dmin_i`` the Euclidean distance of row i to its
nearest selected row; ties go to the lowest index. Each step reads the matrix once (one
matrix-vector product), keeps O(N) float32 state and never forms an N x N matrix.

Same indices on every backend. Backends compute float32 squared distances whose last bits
differ (summation order). Each step therefore takes the backend's best key ``k* = w_j² dmin²_j``
and the rigorous float32 error bound ``E`` on any squared distance (``8 (gamma_d + 2u) R²`` with
``gamma_d = d u / (1 - d u)``, u = 2^-24, R² the largest squared row norm; it covers both the
norm expansion and direct ``(x - c)²`` sums, in any order, with a factor 2 to spare). Every row
whose key could beat row j's lower bound, ``key_i >= k* - E (w_max² + w_j²)`` (plus rounding
slack), is a candidate (keys use ``w`` rescaled by a power of two, exactly, so ``w²`` cannot
overflow). One candidate with a positive lower bound: it is the true argmax. Otherwise (near ties,
duplicates) the candidates are re-scored in float64 by :class:`ExactScorer` with the same numpy
code for every backend, and the best float64 score (lowest index on ties) wins. The true argmax is
always among each backend's candidates, so all backends pick the same row. On typical data a step
has one to a few candidates; the re-scoring costs O(dim) per cached candidate and new centre.

Fewer distinct rows than the budget: once the best remaining score is exactly 0 (every remaining
row duplicates a selected one, or has weight 0), the remaining budget is filled by weight
(descending, ties to the lowest index) and counted in :attr:`CoresetResult.n_filled`.

Reported scores: ``w * dmin`` at pick time, float64 when the exact re-scoring ran, otherwise from
the float32 state (relative error ~1e-6); the first pick without seeds has no distance and its
score is its weight; filled picks score 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from oprd.errors import OprdInputError, param_error
from oprd.selectors.backends import BACKENDS, Backend, is_torch_tensor, make_backend, resolve_backend
from oprd.selectors.exact import ExactScorer
from oprd.selectors.validation import (
    check_budget_int,
    check_choice,
    check_index,
    check_index_array,
    check_matrix_shape,
    check_row_sqnorms,
    check_weights,
    is_int,
    storage_dtype,
)

_U = 2.0**-24  # float32 unit roundoff

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CoresetResult:
    """Selected row indices in pick order, their scores at pick time, and how many were filled."""

    indices: np.ndarray
    scores: np.ndarray
    n_filled: int


def run_coreset(
    X: Any,
    weights: Any,
    budget: int,
    *,
    backend: str = "auto",
    first: int | None = None,
    seed_indices: Any = None,
    dtype: Any = None,
    chunk_rows: int | None = None,
    device: str | None = None,
    progress: Progress | None = None,
    caller: str = "run_coreset",
) -> CoresetResult:
    """Weighted farthest-first selection of ``budget`` rows of ``X`` with full details.

    X: (n, d) float array, numpy or torch (a CUDA tensor selects the torch backend).
    weights: (n,) finite, >= 0; None means unweighted k-center greedy (all ones).
    first: forced first pick; default argmax weight (index 0 when unweighted).
    seed_indices: rows already chosen (e.g. labelled): they start ``dmin`` and are never returned;
        with seeds every pick, the first included, maximises ``w * dmin``.
    backend: "auto" (torch for CUDA tensors or a ``device``, else faiss if installed, else numpy),
        "numpy", "faiss" or "torch".
    dtype: storage precision, None (float32/float16 input kept, others -> float32), "float32" or
        "float16" (half the memory; distances still computed in float32).
    chunk_rows: rows converted to float32 at a time for float16 storage (default: about 4 MB of
        float32 for numpy/faiss, which stays in cache; 64 MB for torch, whose per-call threading
        overhead favours fewer, larger chunks).
    device: torch device, e.g. "cuda"; torch backend only.
    progress: called as ``progress(n_selected, budget)`` after every pick.
    caller: name used in error messages.
    """
    check_choice(backend, BACKENDS, "backend", caller)
    store = storage_dtype(dtype, caller)
    name = resolve_backend(backend, X, device)
    if device is not None and name != "torch":
        raise param_error("device", caller, "None unless backend is 'torch' or 'auto'", device)
    Xs = _as_storage(X, store, name)
    n = Xs.shape[0]
    chunk = _check_chunk_rows(chunk_rows, caller)
    seeds = check_index_array(seed_indices, n, "seed_indices", caller)
    first = check_index(first, n, "first", caller)
    if first is not None and seeds.size:
        raise param_error("first", caller, "None when seed_indices is given", first)
    budget = check_budget_int(budget, n - seeds.size, caller)
    w = np.ones(n) if weights is None else check_weights(weights, n)
    w2 = _key_weights(w)
    engine = make_backend(name, Xs, w2, chunk, device)
    try:
        r2 = check_row_sqnorms(engine.sqnorms, lambda r: engine.rows32(np.array([r]))[0], "X")
        return _greedy(engine, w, w2, budget, first, seeds, r2, progress)
    finally:
        engine.close()


def weighted_farthest_first(
    X: Any,
    weights: Any,
    budget: int,
    *,
    backend: str = "auto",
    first: int | None = None,
    dtype: Any = None,
    chunk_rows: int | None = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Indices (pick order) of the quality-weighted farthest-first selection; see :func:`run_coreset`."""
    return run_coreset(
        X, weights, budget, backend=backend, first=first, dtype=dtype, chunk_rows=chunk_rows,
        device=device, progress=progress, caller="weighted_farthest_first",
    ).indices


def farthest_first(
    X: Any,
    budget: int,
    *,
    backend: str = "auto",
    first: int | None = None,
    seed_indices: Any = None,
    dtype: Any = None,
    chunk_rows: int | None = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Indices of unweighted k-center greedy; the first pick is ``first`` or row 0 unless seeded."""
    return run_coreset(
        X, None, budget, backend=backend, first=first, seed_indices=seed_indices, dtype=dtype,
        chunk_rows=chunk_rows, device=device, progress=progress, caller="farthest_first",
    ).indices


def _greedy(
    engine: Backend,
    w: np.ndarray,
    w2: np.ndarray,
    budget: int,
    first: int | None,
    seeds: np.ndarray,
    r2: float,
    progress: Progress | None,
) -> CoresetResult:
    """The selection loop over a ready backend."""
    slack = _sqdist_error_bound(engine.dim, r2)
    exact = ExactScorer(engine.rows32, w, slack)
    w2max = float(w2.max())
    taken = np.zeros(engine.n, dtype=bool)
    taken[seeds] = True
    picks: list[int] = []
    scores: list[float] = []

    def record(j: int, score: float) -> None:
        picks.append(j)
        scores.append(score)
        taken[j] = True
        if progress is not None:
            progress(len(picks), budget)

    to_fold = [int(s) for s in seeds]
    if not to_fold:
        j = first if first is not None else int(np.argmax(w))
        record(j, float(w[j]))
        to_fold = [j]
    n_filled = 0
    while len(picks) < budget:
        for j in to_fold:
            engine.fold(j)
            exact.add_center(j)
        j, score = _next_pick(engine, exact, w, w2, w2max, slack)
        if j is None:
            rest = np.flatnonzero(~taken)
            fill = rest[np.lexsort((rest, -w[rest]))][: budget - len(picks)]
            for i in fill:
                record(int(i), 0.0)
            n_filled = len(fill)
            break
        record(j, score)
        to_fold = [j]
    return CoresetResult(np.asarray(picks, dtype=np.int64), np.asarray(scores, dtype=np.float64), n_filled)


def _next_pick(
    engine: Backend, exact: ExactScorer, w: np.ndarray, w2: np.ndarray, w2max: float, slack: float
) -> tuple[int | None, float]:
    """The next row and its score, or (None, 0.0) when every remaining score is exactly 0."""
    j, key = engine.best()
    threshold = key - 16 * _U * abs(key) - slack * (w2max + float(w2[j])) - float(np.finfo(np.float32).tiny)
    candidates = engine.above(threshold)
    if len(candidates) == 1 and threshold > 0:
        i = int(candidates[0])
        return i, float(w[i]) * math.sqrt(max(engine.approx_dmin2(i), 0.0))
    exact_scores = exact.scores(candidates)
    top = float(exact_scores.max())
    if top == 0.0:
        return None, 0.0
    return int(candidates[exact_scores == top].min()), top


def _sqdist_error_bound(dim: int, r2: float) -> float:
    """Bound on the float32 error of any backend's squared distance (see module docstring)."""
    gamma = dim * _U / (1.0 - dim * _U)
    return 8.0 * (gamma + 2.0 * _U) * r2 + dim * 2.0**-140


def _key_weights(w: np.ndarray) -> np.ndarray:
    """Float32 ``w²`` after an exact power-of-two rescale putting max(w) in [0.5, 1) (no overflow)."""
    top = float(w.max())
    scaled = np.ldexp(w, -math.frexp(top)[1]) if top > 0 else w
    return (scaled * scaled).astype(np.float32)


def _check_chunk_rows(chunk_rows: object, caller: str) -> int | None:
    """Rows per float32 conversion chunk: None (the backend's default) or an int >= 1."""
    if chunk_rows is None:
        return None
    if not is_int(chunk_rows) or int(chunk_rows) < 1:
        raise param_error("chunk_rows", caller, "None or an int >= 1", chunk_rows)
    return int(chunk_rows)


def _as_storage(X: Any, store: np.dtype | None, backend: str) -> Any:
    """The matrix the backend reads: C-contiguous float32/float16, copied only when needed."""
    if is_torch_tensor(X):
        if backend == "torch":
            return _as_torch_storage(X, store)
        if X.device.type != "cpu":
            raise OprdInputError(
                f"X is a tensor on {X.device}; use backend='torch' (or 'auto') or move it to the CPU."
            )
        X = X.detach().numpy()
    arr = np.asarray(X)
    check_matrix_shape(arr.shape, "X")
    if arr.dtype.kind not in "fiu":
        raise OprdInputError(f"X must hold real numbers; got dtype {arr.dtype}.")
    if store is None:
        store = arr.dtype if arr.dtype in (np.float32, np.float16) else np.dtype(np.float32)
    return np.ascontiguousarray(arr, dtype=store)


def _as_torch_storage(X: Any, store: np.dtype | None) -> Any:
    """Tensor counterpart of :func:`_as_storage` (stays on its device)."""
    import torch

    check_matrix_shape(tuple(X.shape), "X")
    if X.is_complex() or X.dtype == torch.bool:
        raise OprdInputError(f"X must hold real numbers; got dtype {X.dtype}.")
    if store is not None:
        target = torch.float16 if store == np.float16 else torch.float32
    else:
        target = X.dtype if X.dtype in (torch.float32, torch.float16) else torch.float32
    return X.detach().to(target).contiguous()
