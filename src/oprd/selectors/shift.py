"""SHIFT: training-free selection from the reasoning-induced representation shift.

Per prompt (docs/methods/shift.md): start/end hidden states ``s`` and ``e`` (read elsewhere, by the
features layer) give ``delta = e - s``, the utility ``q = log(1 + ||delta||_2)`` and the coverage
feature ``phi = [s; delta] / ||[s; delta]||_2``. Selection is quality-weighted farthest-first on
``phi`` with weights ``q`` (:func:`oprd.selectors.coreset.run_coreset`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from oprd.errors import OprdInputError
from oprd.selectors.base import BaseSelector
from oprd.selectors.coreset import Progress, run_coreset
from oprd.selectors.validation import check_finite_rows, check_matrix_shape, storage_dtype


def _as_states(start_states: Any, end_states: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two real (n, d) arrays of the same shape, finite."""
    s, e = np.asarray(start_states), np.asarray(end_states)
    check_matrix_shape(s.shape, "start_states")
    if e.shape != s.shape:
        raise OprdInputError(
            f"start_states and end_states must have the same shape; got {s.shape} and {e.shape}."
        )
    for name, arr in (("start_states", s), ("end_states", e)):
        if arr.dtype.kind not in "fiu":
            raise OprdInputError(f"{name} must hold real numbers; got dtype {arr.dtype}.")
        check_finite_rows(arr, name)
    return s, e


def shift_features(
    start_states: Any, end_states: Any, *, dtype: Any = np.float32, chunk_rows: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """SHIFT coverage features ``phi`` (n, 2d) and utilities ``q`` (n,) from hidden states.

    Computed in float64, ``chunk_rows`` rows at a time; ``phi`` is stored as ``dtype`` (float32 by
    default, "float16" to halve memory), ``q`` as float64. A row with ``s = e = 0`` has no
    direction: its ``phi`` is the zero vector.
    """
    store = storage_dtype(dtype, "shift_features")
    s, e = _as_states(start_states, end_states)
    n, d = s.shape
    phi = np.empty((n, 2 * d), dtype=store)
    q = np.empty(n, dtype=np.float64)
    for a in range(0, n, chunk_rows):
        start = s[a : a + chunk_rows].astype(np.float64)
        delta = e[a : a + chunk_rows].astype(np.float64) - start
        q[a : a + chunk_rows] = np.log1p(np.linalg.norm(delta, axis=1))
        z = np.concatenate([start, delta], axis=1)
        norm = np.linalg.norm(z, axis=1, keepdims=True)
        phi[a : a + chunk_rows] = np.divide(z, norm, out=np.zeros_like(z), where=norm > 0)
    return phi, q


class ShiftSelector(BaseSelector):
    """Quality-weighted farthest-first on SHIFT features.

    Parameters: ``budget`` (int, or fraction of the pool in (0, 1], rounded up); ``backend``,
    ``dtype`` (storage of ``phi``: None/"float32" or "float16"), ``first`` (forced first pick) and
    ``device`` as in :func:`oprd.selectors.coreset.run_coreset`.

    ``fit(start_states, end_states)`` sets ``ranking_``, ``scores_`` (``q * dmin`` at pick time; the
    first pick scores its ``q``), ``utility_`` (q for the whole pool), ``phi_``, ``n_samples_in_``,
    ``budget_`` and ``n_filled_`` (picks filled by utility once every remaining score was 0).
    """

    def __init__(
        self,
        budget: int | float,
        *,
        backend: str = "auto",
        dtype: Any = None,
        first: int | None = None,
        device: str | None = None,
    ) -> None:
        self.budget = budget
        self.backend = backend
        self.dtype = dtype
        self.first = first
        self.device = device

    def fit(self, start_states: Any, end_states: Any, *, progress: Progress | None = None) -> ShiftSelector:
        """Select from per-prompt start/end hidden states, both (n_samples, hidden_size)."""
        owner = type(self).__name__
        s, e = _as_states(start_states, end_states)
        budget = self._resolve_budget(len(s))
        store = storage_dtype(self.dtype, owner) or np.dtype(np.float32)
        phi, q = shift_features(s, e, dtype=store)
        result = run_coreset(
            phi, q, budget, backend=self.backend, first=self.first, device=self.device,
            progress=progress, caller=owner,
        )
        self.phi_ = phi
        self.utility_ = q
        self._set_selection(result.indices, result.scores, len(s))
        self._set_filled(result.n_filled)
        return self
