"""Selection layer: coreset engine, SHIFT, baselines and PivotTrace's routing (numbers in, indices out).

The selectors take arrays and know no models. The runs that feed them from a pool
(:mod:`oprd.selectors.pipeline`, :mod:`oprd.selectors.pivottrace.run`) get their rollouts, hidden
states and signals from :mod:`oprd.features`, where all model-side code lives.
Heavy optional packages (faiss, torch, sklearn.cluster) are imported only when a backend or
selector needs them.
"""

from oprd.selectors.base import BaseSelector, NotFittedError
from oprd.selectors.baselines import (
    KCenterSelector,
    KMeansSelector,
    RandomSelector,
    ScoreSelector,
    UtilitySelector,
)
from oprd.selectors.coreset import CoresetResult, farthest_first, run_coreset, weighted_farthest_first
from oprd.selectors.registry import SELECTORS
from oprd.selectors.shift import ShiftSelector, shift_features

__all__ = [
    "SELECTORS",
    "BaseSelector",
    "CoresetResult",
    "KCenterSelector",
    "KMeansSelector",
    "NotFittedError",
    "RandomSelector",
    "ScoreSelector",
    "ShiftSelector",
    "UtilitySelector",
    "farthest_first",
    "run_coreset",
    "shift_features",
    "weighted_farthest_first",
]
