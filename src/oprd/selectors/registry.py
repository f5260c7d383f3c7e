"""Selector names used by the CLI and manifests, mapped to their classes.

Model-side score methods (qppl, appl, sc-entropy, token-entropy, self-certainty) all select with
:class:`ScoreSelector` ("score"), with their ranking direction as its ``descending`` parameter.
"""

from __future__ import annotations

from oprd.selectors.base import BaseSelector
from oprd.selectors.baselines import (
    KCenterSelector,
    KMeansSelector,
    RandomSelector,
    ScoreSelector,
    UtilitySelector,
)
from oprd.selectors.shift import ShiftSelector

SELECTORS: dict[str, type[BaseSelector]] = {
    "shift": ShiftSelector,
    "random": RandomSelector,
    "utility": UtilitySelector,
    "kcenter": KCenterSelector,
    "kmeans": KMeansSelector,
    "score": ScoreSelector,
}
