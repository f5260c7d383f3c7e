"""Checks shared by the coreset engine and the selectors.

Every bad hyper-parameter raises the one error shape of :func:`oprd.errors.param_error`; bad data
(wrong shape, NaN, negative weights) raises :class:`OprdInputError` naming the first bad row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real

import numpy as np

from oprd.errors import OprdInputError, param_error

STORAGE_DTYPES = {"float32": np.dtype(np.float32), "float16": np.dtype(np.float16)}
_BUDGET_INT = "an int in [1, n_samples]"
_BUDGET_ANY = "an int in [1, n_samples] or a float in (0, 1]"


def is_int(value: object) -> bool:
    """True for Python/numpy integers, False for bools (which are ints to Python)."""
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def check_budget_int(budget: object, n: int, owner: str) -> int:
    """An int budget in [1, n]."""
    if not is_int(budget) or not 1 <= int(budget) <= n:
        raise param_error("budget", owner, _BUDGET_INT, budget)
    return int(budget)


def resolve_budget(budget: object, n: int, owner: str) -> int:
    """An int in [1, n], or a float fraction in (0, 1] of the pool rounded up."""
    if is_int(budget):
        if 1 <= int(budget) <= n:
            return int(budget)
    elif isinstance(budget, Real) and not isinstance(budget, (bool, np.bool_)):
        frac = float(budget)
        if 0.0 < frac <= 1.0:
            return max(1, min(n, math.ceil(frac * n)))
    raise param_error("budget", owner, _BUDGET_ANY, budget)


def check_seed(seed: object, owner: str) -> int:
    """A non-negative int seed (selections must be reproducible)."""
    if not is_int(seed) or int(seed) < 0:
        raise param_error("seed", owner, "an int >= 0", seed)
    return int(seed)


def check_choice(value: object, choices: tuple, param: str, owner: str) -> None:
    """``value`` must be one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise param_error(param, owner, "one of " + ", ".join(repr(c) for c in choices), value)


def storage_dtype(dtype: object, owner: str) -> np.dtype | None:
    """Resolve the ``dtype`` option: None, 'float32' or 'float16' (numpy dtypes accepted)."""
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in STORAGE_DTYPES.values():
        raise param_error("dtype", owner, "None, 'float32' or 'float16'", dtype)
    return resolved


def check_index(value: object, n: int, param: str, owner: str) -> int | None:
    """None or a row index in [0, n)."""
    if value is None:
        return None
    if not is_int(value) or not 0 <= int(value) < n:
        raise param_error(param, owner, "None or an int in [0, n_samples)", value)
    return int(value)


def check_index_array(values: object, n: int, param: str, owner: str) -> np.ndarray:
    """None or a 1-D collection of row indices in [0, n); returns sorted unique int64 indices."""
    if values is None:
        return np.empty(0, dtype=np.int64)
    arr = np.asarray(values)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= n:
        raise param_error(param, owner, "None or a 1-D array of ints in [0, n_samples)", values)
    return np.unique(arr.astype(np.int64))


def check_matrix_shape(shape: tuple, name: str) -> None:
    """A 2-D non-empty (n_samples, n_features) shape."""
    if len(shape) != 2 or shape[0] < 1 or shape[1] < 1:
        raise OprdInputError(
            f"{name} must be a 2-D array of shape (n_samples, n_features) with at least one row "
            f"and one column; got shape {tuple(shape)}."
        )


def check_finite_rows(X: np.ndarray, name: str, chunk_rows: int = 8192) -> None:
    """Raise naming the first row of ``X`` that holds a NaN or an infinity (chunked, no full copy)."""
    for start in range(0, X.shape[0], chunk_rows):
        ok = np.isfinite(X[start : start + chunk_rows]).all(axis=1)
        if not ok.all():
            raise _nonfinite_error(name, start + int(np.argmin(ok)))


def check_row_sqnorms(sqnorms: np.ndarray, row: Callable[[int], np.ndarray], name: str) -> float:
    """Validate rows through their float32 squared norms; return the largest one.

    ``row(i)`` returns row i, read only to tell a NaN/inf from an overflow.
    A NaN/inf in a row makes its norm non-finite; so does a finite row whose squared norm
    overflows float32, which the float32 distance arithmetic could not handle either.
    """
    bad = np.flatnonzero(~np.isfinite(sqnorms))
    if bad.size:
        bad_row = int(bad[0])
        if not np.isfinite(row(bad_row)).all():
            raise _nonfinite_error(name, bad_row)
        raise _too_large_error(name, bad_row)
    largest = float(sqnorms.max())
    if largest > float(np.finfo(np.float32).max) / 16:
        raise _too_large_error(name, int(np.argmax(sqnorms)))
    return largest


def check_weights(weights: object, n: int, name: str = "weights") -> np.ndarray:
    """1-D float64 copy of ``weights``: length n, finite, >= 0."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise OprdInputError(f"{name} must be a 1-D array of length n_samples={n}; got shape {w.shape}.")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        row = int(bad[0])
        raise OprdInputError(
            f"{name} must be finite and >= 0; row {row} holds {w[row]!r}. Fix or drop that row."
        )
    return w


def check_scores(scores: object, name: str = "scores") -> np.ndarray:
    """1-D finite float64 copy of per-item scores."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise OprdInputError(f"{name} must be a non-empty 1-D array (one score per item); got shape {s.shape}.")
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        row = int(bad[0])
        raise OprdInputError(f"{name} must be finite; row {row} holds {s[row]!r}. Fix or drop that row.")
    return s


def _nonfinite_error(name: str, row: int) -> OprdInputError:
    return OprdInputError(
        f"{name} has a NaN or infinite value in row {row}; fix or drop that row before selection."
    )


def _too_large_error(name: str, row: int) -> OprdInputError:
    return OprdInputError(
        f"{name} row {row} is too large for float32 distances (its squared norm overflows); "
        "rescale the features, e.g. L2-normalise the rows."
    )
