"""GeoMin's reliable / unreliable split of pseudo-label affinities into training weights (docs/methods/geomin.md, section 5).

A two-component 1-D Gaussian mixture (sklearn ``GaussianMixture``) is fitted to this step's
affinities plus those of the previous ``history`` steps; ``pi`` is each of this step's prompts'
posterior for the higher-mean component and the weight is 1 (``pi >= keep``), ``pi``
(``drop <= pi < keep``, down-weighted) or 0 (filtered). With fewer than ``min_points`` pooled
points, or when the two means are closer than one pooled standard deviation (the mixture found no
real second mode; pooled std = square root of the weight-averaged component variances), the
median rule ``w = 1[A >= median]`` over the pooled points is used instead.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

RULES = ("gmm", "median", "close-means")


@dataclass
class SplitResult:
    """Weights of this step's prompts, the rule that made them and (for the GMM) the component means."""

    weights: np.ndarray
    rule: str
    means: tuple[float, float] | None = None


class ReliabilitySplit:
    """Affinities in, weights out; keeps the FIFO of previous steps' affinities (checkpointed)."""

    def __init__(self, *, history: int = 4, min_points: int = 32, keep: float = 0.9, drop: float = 0.5,
                 seed: int = 0) -> None:
        self.history = history
        self.min_points = min_points
        self.keep = keep
        self.drop = drop
        self.seed = seed
        self.past: deque[list[float]] = deque(maxlen=history)

    def split(self, affinities) -> SplitResult:
        """Weights for this step's ``affinities``; then remembers them for the next ``history`` steps."""
        current = np.asarray(affinities, dtype=np.float64).ravel()
        if current.size == 0:
            return SplitResult(current, "median")
        pooled = np.concatenate([np.asarray(step, dtype=np.float64) for step in self.past] + [current])
        result = self._gmm(current, pooled) if pooled.size >= self.min_points else None
        if result is None:
            rule = "median" if pooled.size < self.min_points else "close-means"
            result = SplitResult((current >= np.median(pooled)).astype(np.float64), rule)
        self.past.append(current.tolist())
        return result

    def _gmm(self, current: np.ndarray, pooled: np.ndarray) -> SplitResult | None:
        """The mixture's weights, or None when its two means are closer than one pooled std."""
        from sklearn.mixture import GaussianMixture

        if np.ptp(pooled) == 0.0:
            return None
        mixture = GaussianMixture(n_components=2, random_state=self.seed).fit(pooled[:, None])
        means = mixture.means_.ravel()
        variances = mixture.covariances_.ravel()
        pooled_std = float(np.sqrt(np.sum(mixture.weights_ * variances)))
        if abs(means[0] - means[1]) < pooled_std:
            return None
        high = int(np.argmax(means))
        posterior = mixture.predict_proba(current[:, None])[:, high]
        return SplitResult(self.weights_from_posterior(posterior), "gmm", (float(means.min()), float(means.max())))

    def weights_from_posterior(self, posterior) -> np.ndarray:
        """1 above ``keep``, the posterior itself in ``[drop, keep)``, 0 below ``drop``."""
        pi = np.asarray(posterior, dtype=np.float64)
        return np.where(pi >= self.keep, 1.0, np.where(pi >= self.drop, pi, 0.0))

    def state_dict(self) -> dict:
        return {"past": [list(step) for step in self.past]}

    def load_state_dict(self, state: dict) -> None:
        self.past = deque((list(step) for step in state.get("past", [])), maxlen=self.history)
