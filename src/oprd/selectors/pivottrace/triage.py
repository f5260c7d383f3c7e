"""PivotTrace routing (docs/methods/pivottrace.md): uncertainty in, probes and annotate/weak/discard buckets out.

Pure arrays; the run that feeds it (rollouts, attention pivots, probe pass rates) is
:mod:`oprd.selectors.pivottrace.run`. Flow: rank the pool by uncertainty (most uncertain
first), pick probes spread over the ranking (:meth:`PivotTrace.select_probes`), have them annotated
and rolled out, then :meth:`PivotTrace.fit` with their pass rates. The calibration curve (centred
windowed mean over probes, then isotonic, non-decreasing along the ranking) sets the cuts; probes
are annotated wherever they sit and count toward the annotation budget.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from oprd.errors import OprdInputError, param_error
from oprd.selectors.base import BaseSelector
from oprd.selectors.validation import check_choice, check_scores, check_seed, is_int

CALIBRATIONS = ("threshold", "pseudo_label", "fractions")
BUCKETS = ("annotate", "weak", "discard")
ANNOTATE, WEAK, DISCARD = range(3)


def default_probe_count(n: int) -> int:
    """``max(64, 2% of n)`` capped at ``n``."""
    return min(n, max(64, math.ceil(0.02 * n)))


def rank_by_uncertainty(uncertainty: np.ndarray) -> np.ndarray:
    """Indices, most uncertain first (ties: lower index first)."""
    return np.argsort(-np.asarray(uncertainty, dtype=np.float64), kind="stable")


def probe_positions(n: int, m: int, seed: int) -> np.ndarray:
    """Ranking positions of ``m`` probes: one seeded random position in each of m equal-rank bins."""
    rng = np.random.default_rng(seed)
    return np.array([int(rng.choice(part)) for part in np.array_split(np.arange(n), m)], dtype=np.int64)


def windowed_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred sliding mean over ``width`` neighbours, the window shrinking at the ends."""
    values = np.asarray(values, dtype=np.float64)
    half = width // 2
    padded = np.concatenate([[0.0], np.cumsum(values)])
    lo = np.clip(np.arange(len(values)) - half, 0, len(values))
    hi = np.clip(np.arange(len(values)) + (width - half), 0, len(values))
    return (padded[hi] - padded[lo]) / (hi - lo)


def calibration_curve(positions: np.ndarray, values: np.ndarray, n: int, width: int) -> np.ndarray:
    """Probe values smoothed (centred windowed mean, then isotonic non-decreasing in ranking position)
    at every ranking position 0..n-1: linear between probes, flat beyond the end probes."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(increasing=True, y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(positions.astype(np.float64), windowed_mean(values, width))
    return iso.predict(np.arange(n, dtype=np.float64))


def assign_buckets(
    n: int,
    probes: np.ndarray,
    top: int,
    tail: int,
    *,
    top_counts_probes: bool,
    max_annotate: int | None = None,
    max_discard: int | None = None,
) -> np.ndarray:
    """Bucket codes along the ranking (position 0 = most uncertain).

    ``top_counts_probes=False`` (threshold cuts): ``top`` and ``tail`` are ranking positions, probes
    included: the first ``top`` positions are annotated, the last ``tail`` discarded, except that
    probes are always annotated, so a probe in the tail shrinks the discard bucket instead of moving
    its cut. ``True`` (fixed fractions): ``top`` and ``tail`` are bucket sizes: ``top`` annotated
    items, probes included, filled from the top with non-probes; the last ``tail`` non-probes
    discarded. Annotate and discard never overlap. Caps trim the least uncertain annotated
    non-probes and the most uncertain discarded items into weak.
    """
    is_probe = np.zeros(n, dtype=bool)
    is_probe[probes] = True
    free = np.flatnonzero(~is_probe)
    if top_counts_probes:
        annotate = free[: max(0, top - len(probes))]
        discard = free[max(len(annotate), len(free) - tail) :]
    else:
        annotate = free[free < top]
        discard = free[free >= max(top, n - tail)]
    if max_annotate is not None:
        annotate = annotate[: max(0, max_annotate - len(probes))]
    if max_discard is not None:
        discard = discard[len(discard) - min(max_discard, len(discard)) :]
    codes = np.full(n, WEAK, dtype=np.int8)
    codes[annotate] = ANNOTATE
    codes[is_probe] = ANNOTATE
    codes[discard] = DISCARD
    return codes


class PivotTrace(BaseSelector):
    """Three-way triage of a pool by an uncertainty score, calibrated on annotated probes.

    Parameters: ``n_probes`` (None = max(64, 2% of n), capped at n); ``calib``: ``threshold``
    (annotate while smoothed pass rate <= ``tau_lo``, discard where >= ``tau_hi``), ``pseudo_label``
    (annotate while the smoothed majority-vote accuracy < ``pseudo_label_threshold``; discard as
    threshold) or ``fractions`` (annotate/discard the given shares, probes included);
    ``probe_window`` probes in the centred smoothing window; caps ``max_annotate_frac`` and
    ``max_discard_frac``; ``seed`` picks the probe in each rank bin.

    Fitted: ``order_`` (all indices, most uncertain first), ``buckets_`` (name per pool index),
    ``probes_`` (pool indices, ranking order), ``probe_pass_rates_``, ``calibration_`` (smoothed pass
    rate per ranking position, None in fractions mode without pass rates), ``accuracy_curve_`` (the
    same for majority-vote correctness, when given), ``cuts_``; ``ranking_``, ``scores_`` and
    ``get_support`` give the annotated items.
    """

    def __init__(
        self,
        n_probes: int | None = None,
        *,
        calib: str = "threshold",
        tau_lo: float = 0.5,
        tau_hi: float = 0.9,
        fractions: tuple[float, float] = (0.293, 0.421),
        pseudo_label_threshold: float = 0.7,
        probe_window: int = 9,
        max_annotate_frac: float | None = None,
        max_discard_frac: float | None = None,
        seed: int = 0,
    ) -> None:
        self.n_probes = n_probes
        self.calib = calib
        self.tau_lo = tau_lo
        self.tau_hi = tau_hi
        self.fractions = fractions
        self.pseudo_label_threshold = pseudo_label_threshold
        self.probe_window = probe_window
        self.max_annotate_frac = max_annotate_frac
        self.max_discard_frac = max_discard_frac
        self.seed = seed

    def select_probes(self, uncertainty) -> np.ndarray:
        """Pool indices of the probes, in ranking order (the same for the same scores and seed)."""
        u = check_scores(uncertainty, "uncertainty")
        m = self.check_params(len(u))
        return rank_by_uncertainty(u)[probe_positions(len(u), m, self.seed)]

    def fit(self, uncertainty, probe_pass_rates=None, probe_majority_correct=None) -> "PivotTrace":
        """Route every item. Pass rates (and majority-vote correctness for ``pseudo_label``) are given
        per probe, in the order of :meth:`select_probes`; ``fractions`` mode may omit them."""
        u = check_scores(uncertainty, "uncertainty")
        n = len(u)
        m = self.check_params(n)
        order = rank_by_uncertainty(u)
        positions = probe_positions(n, m, self.seed)
        rates = self._probe_values(probe_pass_rates, m, "probe_pass_rates", required=self.calib != "fractions")
        correct = self._probe_values(probe_majority_correct, m, "probe_majority_correct",
                                     required=self.calib == "pseudo_label")
        self.calibration_ = None if rates is None else calibration_curve(positions, rates, n, self.probe_window)
        self.accuracy_curve_ = (None if correct is None
                                else calibration_curve(positions, correct, n, self.probe_window))
        top, tail = self._cut_sizes(n)
        codes = assign_buckets(
            n, positions, top, tail, top_counts_probes=self.calib == "fractions",
            max_annotate=None if self.max_annotate_frac is None else math.floor(self.max_annotate_frac * n),
            max_discard=None if self.max_discard_frac is None else math.floor(self.max_discard_frac * n),
        )
        buckets = np.empty(n, dtype=object)
        buckets[order] = np.array(BUCKETS, dtype=object)[codes]
        self.order_ = order
        self.uncertainty_ = u
        self.buckets_ = buckets
        self.probes_ = order[positions]
        self.probe_positions_ = positions
        self.probe_pass_rates_ = rates
        self.cuts_ = _cuts(codes, positions, top, tail)
        annotated = order[codes == ANNOTATE]
        self._set_selection(annotated, u[annotated], n)
        return self

    def _cut_sizes(self, n: int) -> tuple[int, int]:
        """Annotated prefix length (or total, in fractions mode) and discarded tail length; the curves
        are non-decreasing, so "where below/above" is a prefix/suffix."""
        if self.calib == "fractions":
            return round(self.fractions[0] * n), round(self.fractions[1] * n)
        tail = int(np.sum(self.calibration_ >= self.tau_hi))
        if self.calib == "pseudo_label":
            top = int(np.sum(self.accuracy_curve_ < self.pseudo_label_threshold))
        else:
            top = int(np.sum(self.calibration_ <= self.tau_lo))
        return top, min(tail, n - top)

    def check_params(self, n: int) -> int:
        """Check every hyper-parameter for a pool of ``n`` items; return the number of probes."""
        owner = type(self).__name__
        check_choice(self.calib, CALIBRATIONS, "calib", owner)
        check_seed(self.seed, owner)
        for name in ("tau_lo", "tau_hi", "pseudo_label_threshold"):
            _check_unit(getattr(self, name), name, owner, "a float in [0, 1]")
        if self.tau_lo >= self.tau_hi:
            raise OprdInputError(
                f"tau_lo ({self.tau_lo}) must be below tau_hi ({self.tau_hi}): items with pass rate <= tau_lo are "
                "annotated and >= tau_hi discarded; pass --tau-lo < --tau-hi"
            )
        fractions = self.fractions
        if not isinstance(fractions, (tuple, list)) or len(fractions) != 2:
            raise param_error("fractions", owner, "a pair (annotate, discard) of floats in [0, 1]", fractions)
        for value in fractions:
            _check_unit(value, "fractions", owner, "a pair (annotate, discard) of floats in [0, 1]", shown=fractions)
        if sum(fractions) > 1 + 1e-9:
            raise OprdInputError(
                f"fractions {fractions[0]},{fractions[1]} sum to {sum(fractions):.3f} > 1: annotate and discard shares "
                "must leave a (possibly empty) weak middle; pass --fractions whose two values sum to at most 1"
            )
        for name in ("max_annotate_frac", "max_discard_frac"):
            value = getattr(self, name)
            if value is not None:
                _check_unit(value, name, owner, "None or a float in [0, 1]")
        if isinstance(self.probe_window, bool) or not is_int(self.probe_window) or self.probe_window < 1:
            raise param_error("probe_window", owner, "an int >= 1", self.probe_window)
        m = default_probe_count(n) if self.n_probes is None else self.n_probes
        if self.n_probes is not None and (not is_int(m) or not 1 <= m <= n):
            raise param_error("n_probes", owner, f"None or an int in [1, {n}] (the number of pool items)",
                              self.n_probes)
        if self.max_annotate_frac is not None and math.floor(self.max_annotate_frac * n) < m:
            raise OprdInputError(
                f"max_annotate_frac={self.max_annotate_frac} allows {math.floor(self.max_annotate_frac * n)} annotated "
                f"items but the {m} probes are annotated already; raise the cap or use fewer probes"
            )
        return int(m)

    @staticmethod
    def _probe_values(values, m: int, name: str, *, required: bool) -> np.ndarray | None:
        if values is None:
            if required:
                raise OprdInputError(f"{name} is required for this calibration; give one value per probe ({m})")
            return None
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (m,) or not np.all((array >= 0) & (array <= 1)):
            raise OprdInputError(
                f"{name} must hold {m} values in [0, 1], one per probe in select_probes order; got shape "
                f"{array.shape}" + ("" if array.shape != (m,) else " with values outside [0, 1]")
            )
        return array


def _cuts(codes: np.ndarray, probes: np.ndarray, top: int, tail: int) -> dict[str, int]:
    """Where the buckets end along the ranking once caps applied (probes aside), and bucket sizes."""
    non_probe = np.ones(len(codes), dtype=bool)
    non_probe[probes] = False
    annotated = np.flatnonzero(non_probe & (codes == ANNOTATE))
    discarded = np.flatnonzero(codes == DISCARD)
    return {
        "top": int(top),
        "tail": int(tail),
        "annotate_end": int(annotated[-1] + 1) if len(annotated) else 0,
        "discard_start": int(discarded[0]) if len(discarded) else len(codes),
        **{f"n_{name}": int(np.sum(codes == code)) for code, name in enumerate(BUCKETS)},
    }


def _check_unit(value, name: str, owner: str, expected: str, shown=None) -> None:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= float(value) <= 1.0:
        raise param_error(name, owner, expected, value if shown is None else shown)
