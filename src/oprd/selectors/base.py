"""The selector contract shared by SHIFT and the baselines (sklearn style).

``__init__`` only stores hyper-parameters; ``fit`` validates them, selects, sets ``ranking_``
(indices in selection order), ``scores_`` (one per selected item), ``budget_`` (resolved budget)
and ``n_samples_in_``, and returns ``self``.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np

from oprd.selectors.validation import resolve_budget


class NotFittedError(ValueError, AttributeError):
    """A fitted attribute was asked for before ``fit`` (same bases as sklearn's, without importing it)."""


class BaseSelector:
    """Budget resolution, fitted-state checks and ``get_support`` for every selector."""

    budget: int | float
    ranking_: np.ndarray
    scores_: np.ndarray
    budget_: int
    n_samples_in_: int

    @classmethod
    def _param_names(cls) -> list[str]:
        params = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in params if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters as passed to ``__init__`` (for manifests and reprs).

        ``deep`` is accepted for sklearn compatibility (``clone``); selectors nest no estimators.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _resolve_budget(self, n: int) -> int:
        """``self.budget`` as an int in [1, n]: an int, or a fraction in (0, 1] rounded up."""
        return resolve_budget(self.budget, n, type(self).__name__)

    def _set_selection(self, ranking: np.ndarray, scores: np.ndarray, n: int) -> None:
        """Store the fitted attributes common to every selector."""
        self.ranking_ = np.asarray(ranking, dtype=np.int64)
        self.scores_ = np.asarray(scores, dtype=np.float64)
        self.budget_ = len(self.ranking_)
        self.n_samples_in_ = int(n)

    def get_support(self, indices: bool = False) -> np.ndarray:
        """Boolean mask of length n_samples (selected = True), or the ranking if ``indices``."""
        if not hasattr(self, "ranking_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(...) first.")
        if indices:
            return self.ranking_.copy()
        mask = np.zeros(self.n_samples_in_, dtype=bool)
        mask[self.ranking_] = True
        return mask

    def _set_filled(self, n_filled: int) -> None:
        """Record (``n_filled_``) and warn when the coreset ran out of distinct rows."""
        self.n_filled_ = int(n_filled)
        if n_filled:
            warnings.warn(
                f"{type(self).__name__}: only {self.budget_ - n_filled} of {self.budget_} picks had a "
                f"positive score (the rest duplicate selected rows or have zero weight); the last "
                f"{n_filled} were filled by weight, ties to the lowest index.",
                UserWarning,
                stacklevel=3,
            )
