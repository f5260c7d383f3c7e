"""Baseline selectors behind the same contract as :class:`ShiftSelector` (docs/methods/shift.md).

All take precomputed numbers: a pool (for random), per-item scores (utility, qppl, appl,
sc-entropy, token-entropy, self-certainty: computed on the model side elsewhere) or an embedding
matrix (kcenter, kmeans).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from oprd.errors import param_error
from oprd.selectors.base import BaseSelector
from oprd.selectors.coreset import Progress, run_coreset
from oprd.selectors.validation import (
    check_finite_rows,
    check_matrix_shape,
    check_scores,
    check_seed,
    is_int,
)


def _n_samples(X: Any) -> int:
    """Number of items in a pool given as an array (first axis) or any sized collection."""
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape else len(X)


def _rank(scores: np.ndarray, descending: bool) -> np.ndarray:
    """All indices ordered by score; a stable sort keeps ties in ascending index order."""
    return np.argsort(-scores if descending else scores, kind="stable")


class RandomSelector(BaseSelector):
    """Seeded uniform sample: every item draws a random priority, the top ``budget`` are kept.

    ``scores_`` are those priorities (uniform in [0, 1)), so the ranking is reproducible per seed.
    """

    def __init__(self, budget: int | float, seed: int = 0) -> None:
        self.budget = budget
        self.seed = seed

    def fit(self, X: Any) -> RandomSelector:
        """Select from a pool of ``len(X)`` items (the contents of ``X`` are not read)."""
        n = _n_samples(X)
        budget = self._resolve_budget(n)
        priority = np.random.default_rng(check_seed(self.seed, type(self).__name__)).random(n)
        ranking = _rank(priority, descending=True)[:budget]
        self._set_selection(ranking, priority[ranking], n)
        return self


class ScoreSelector(BaseSelector):
    """Top ``budget`` items by a precomputed per-item score, ties to the lowest index.

    ``descending=True`` keeps the highest scores (qppl, appl, entropies); False the lowest
    (self-certainty when ranking for uncertainty).
    """

    def __init__(self, budget: int | float, descending: bool = True) -> None:
        self.budget = budget
        self.descending = descending

    def fit(self, scores: Any) -> ScoreSelector:
        """Select from one finite score per item."""
        if not isinstance(self.descending, (bool, np.bool_)):
            raise param_error("descending", type(self).__name__, "a bool", self.descending)
        s = check_scores(scores)
        budget = self._resolve_budget(len(s))
        ranking = _rank(s, bool(self.descending))[:budget]
        self._set_selection(ranking, s[ranking], len(s))
        return self


class UtilitySelector(BaseSelector):
    """SHIFT ablation without coverage: top ``budget`` by utility ``q``, ties to the lowest index."""

    def __init__(self, budget: int | float) -> None:
        self.budget = budget

    def fit(self, utility: Any) -> UtilitySelector:
        """Select from one utility per item (e.g. ``shift_features(...)[1]``)."""
        q = check_scores(utility, "utility")
        budget = self._resolve_budget(len(q))
        ranking = _rank(q, descending=True)[:budget]
        self._set_selection(ranking, q[ranking], len(q))
        return self


class KCenterSelector(BaseSelector):
    """Unweighted farthest-first (k-center greedy) on an embedding (phi, prompt states, ...).

    ``scores_`` are the distances to the nearest selected row at pick time (the first pick, with
    no seeds, scores 1). ``n_filled_`` counts picks filled once only duplicates remained.
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

    def fit(
        self, X: Any, *, seed_indices: Any = None, progress: Progress | None = None
    ) -> KCenterSelector:
        """Select rows of ``X`` (n_samples, n_features); ``seed_indices`` are already-labelled rows."""
        n = _n_samples(X)
        budget = self._resolve_budget(n)
        result = run_coreset(
            X, None, budget, backend=self.backend, first=self.first, seed_indices=seed_indices,
            dtype=self.dtype, device=self.device, progress=progress, caller=type(self).__name__,
        )
        self._set_selection(result.indices, result.scores, n)
        self._set_filled(result.n_filled)
        return self


class KMeansSelector(BaseSelector):
    """k-means with k = budget; per cluster, the member nearest to its centroid.

    Picks are ordered by cluster size (descending, ties by cluster id) and ``scores_`` are the
    cluster sizes. A cluster left without members (fewer distinct rows than k) takes the nearest
    row not yet picked.
    """

    def __init__(self, budget: int | float, seed: int = 0, *, n_init: int = 1, max_iter: int = 300) -> None:
        self.budget = budget
        self.seed = seed
        self.n_init = n_init
        self.max_iter = max_iter

    def fit(self, X: Any) -> KMeansSelector:
        """Select rows of ``X`` (n_samples, n_features)."""
        from sklearn.cluster import KMeans

        owner = type(self).__name__
        seed = check_seed(self.seed, owner)
        for name in ("n_init", "max_iter"):
            value = getattr(self, name)
            if not is_int(value) or int(value) < 1:
                raise param_error(name, owner, "an int >= 1", value)
        data = np.asarray(X)
        check_matrix_shape(data.shape, "X")
        data = np.ascontiguousarray(data, dtype=np.float64 if data.dtype == np.float64 else np.float32)
        check_finite_rows(data, "X")
        budget = self._resolve_budget(len(data))
        km = KMeans(n_clusters=budget, random_state=seed, n_init=self.n_init, max_iter=self.max_iter)
        labels = km.fit_predict(data)
        ranking, sizes = _representatives(data, labels, km.cluster_centers_)
        self._set_selection(ranking, sizes, len(data))
        return self


def _sqdist_to_centers(data: np.ndarray, centers: np.ndarray, labels: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Squared distance of every row to ``centers[labels[row]]`` (chunked, no n x k matrix)."""
    out = np.empty(len(data))
    for a in range(0, len(data), chunk):
        diff = data[a : a + chunk] - centers[labels[a : a + chunk]]
        out[a : a + chunk] = np.einsum("ij,ij->i", diff, diff)
    return out


def _representatives(data: np.ndarray, labels: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest member of each cluster (ties to the lowest index), clusters by size desc."""
    k = len(centers)
    sizes = np.bincount(labels, minlength=k)
    d2 = _sqdist_to_centers(data, centers, labels)
    order = np.lexsort((np.arange(len(data)), d2, labels))
    first_of_label = np.r_[True, labels[order][1:] != labels[order][:-1]]
    rep = np.full(k, -1, dtype=np.int64)
    rep[labels[order][first_of_label]] = order[first_of_label]
    clusters = np.lexsort((np.arange(k), -sizes))
    taken = np.zeros(len(data), dtype=bool)
    taken[rep[rep >= 0]] = True
    for c in clusters[rep[clusters] < 0]:
        dist = _sqdist_to_centers(data, centers, np.full(len(data), c))
        rep[c] = int(np.argmin(np.where(taken, np.inf, dist)))
        taken[rep[c]] = True
    return rep[clusters], sizes[clusters].astype(np.float64)
