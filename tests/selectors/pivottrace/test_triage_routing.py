"""PivotTrace routing on synthetic calibration curves: probes, smoothing, cuts, caps, bad parameters."""

import numpy as np
import pytest

from oprd.errors import OprdInputError
from oprd.selectors.pivottrace.triage import (
    PivotTrace,
    assign_buckets,
    default_probe_count,
    probe_positions,
    windowed_mean,
)


def _pool(n=1000, seed=0):
    """Uncertainty scores in shuffled order; ``rank[i]`` is item i's position in the ranking."""
    rng = np.random.default_rng(seed)
    u = rng.permutation(n).astype(float)
    rank = np.empty(n, dtype=int)
    rank[np.argsort(-u, kind="stable")] = np.arange(n)
    return u, rank


def _fit(curve, n=1000, noise_samples=None, **params):
    """Fit with probe pass rates read off ``curve(rank / n)`` (binomial over G samples if given)."""
    u, rank = _pool(n)
    selector = PivotTrace(**params)
    probes = selector.select_probes(u)
    rates = np.array([curve(rank[i] / n) for i in probes], dtype=float)
    if noise_samples:
        rates = np.random.default_rng(1).binomial(noise_samples, rates) / noise_samples
    return selector.fit(u, rates), u, rank


def test_probes_spread_one_per_equal_rank_bin_and_are_reproducible():
    u, rank = _pool(1000)
    probes = PivotTrace(100, seed=3).select_probes(u)
    assert sorted(rank[probes] // 10) == list(range(100))
    assert np.array_equal(probes, PivotTrace(100, seed=3).select_probes(u))
    assert not np.array_equal(probes, PivotTrace(100, seed=4).select_probes(u))
    assert (default_probe_count(100), default_probe_count(10_000), default_probe_count(30)) == (64, 200, 30)
    assert sorted(probe_positions(7, 7, 0)) == list(range(7))


def test_linear_pass_rate_puts_the_cuts_at_the_taus():
    selector, u, rank = _fit(lambda x: x, n_probes=100)
    cuts = selector.cuts_
    assert abs(cuts["annotate_end"] - 500) <= 12
    assert abs(cuts["discard_start"] - 900) <= 12
    assert np.all(np.diff(selector.calibration_) >= 0)
    buckets = selector.buckets_
    assert set(buckets[rank < 480]) == {"annotate"}
    assert set(buckets[(rank > 520) & (rank < 880)]) <= {"weak", "annotate"}
    assert set(buckets[rank > 920]) <= {"discard", "annotate"}
    assert all(buckets[i] == "annotate" for i in selector.probes_)
    assert np.array_equal(selector.get_support(), buckets == "annotate")


def test_discard_cut_is_a_ranking_position_and_probes_in_the_tail_stay_annotated():
    selector, _, rank = _fit(lambda x: x, n_probes=100)
    tail = selector.cuts_["tail"]
    position = np.empty(1000, dtype=int)
    position[selector.order_] = np.arange(1000)
    discarded = position[selector.buckets_ == "discard"]
    probes_in_tail = int(np.sum(selector.probe_positions_ >= 1000 - tail))
    assert probes_in_tail > 0
    assert discarded.min() >= 1000 - tail
    assert np.all(selector.calibration_[discarded] >= selector.tau_hi)
    assert selector.cuts_["n_discard"] == tail - probes_in_tail


def test_assign_buckets_by_hand():
    # 10 positions, probes at 1 and 8; annotate the first 3 positions, discard the last 4
    codes = assign_buckets(10, np.array([1, 8]), 3, 4, top_counts_probes=False)
    assert codes.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 0, 2]
    # fixed sizes: 3 annotated in all (2 probes + position 0), the last 4 non-probes discarded
    codes = assign_buckets(10, np.array([1, 8]), 3, 4, top_counts_probes=True)
    assert codes.tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 0, 2]


def test_step_curve_with_binomial_noise_cuts_near_the_steps():
    selector, _, _ = _fit(lambda x: 0.05 if x < 0.3 else (0.7 if x < 0.75 else 1.0), n_probes=150, noise_samples=8)
    assert abs(selector.cuts_["annotate_end"] - 300) <= 60
    assert abs(selector.cuts_["discard_start"] - 750) <= 60
    assert np.all(np.diff(selector.calibration_) >= 0)


def test_flat_curves_annotate_or_discard_everything():
    hard, _, _ = _fit(lambda x: 0.0, n=200, n_probes=20)
    assert hard.cuts_["n_annotate"] == 200
    easy, _, _ = _fit(lambda x: 1.0, n=200, n_probes=20)
    assert (easy.cuts_["n_annotate"], easy.cuts_["n_discard"]) == (20, 180)


def test_pseudo_label_calibration_uses_majority_vote_accuracy():
    u, rank = _pool(1000)
    selector = PivotTrace(100, calib="pseudo_label")
    probes = selector.select_probes(u)
    correct = (rank[probes] >= 400).astype(float)
    rates = rank[probes] / 1000
    selector.fit(u, rates, correct)
    assert abs(selector.cuts_["annotate_end"] - 400) <= 40
    assert abs(selector.cuts_["discard_start"] - 900) <= 12


def test_fixed_fractions_count_probes_toward_annotation():
    selector, _, rank = _fit(lambda x: 0.5, calib="fractions")
    cuts = selector.cuts_
    assert (cuts["n_annotate"], cuts["n_discard"], cuts["n_weak"]) == (293, 421, 286)
    discarded = rank[selector.buckets_ == "discard"]
    assert discarded.min() >= 1000 - 421 - 64
    no_rates = PivotTrace(calib="fractions").fit(_pool(1000)[0])
    assert no_rates.cuts_["n_annotate"] == 293 and no_rates.calibration_ is None


def test_caps_trim_the_buckets_from_their_inner_edges():
    selector, _, rank = _fit(lambda x: x, n_probes=50, max_annotate_frac=0.2, max_discard_frac=0.05)
    cuts = selector.cuts_
    assert (cuts["n_annotate"], cuts["n_discard"]) == (200, 50)
    tail_non_probes = np.setdiff1d(np.argsort(rank)[::-1], selector.probes_, assume_unique=True)
    tail_non_probes = tail_non_probes[np.argsort(-rank[tail_non_probes])][:50]
    assert set(np.flatnonzero(selector.buckets_ == "discard")) == set(tail_non_probes)
    annotated_non_probes = np.setdiff1d(np.flatnonzero(selector.buckets_ == "annotate"), selector.probes_)
    assert rank[annotated_non_probes].max() < 200


def test_windowed_mean_is_centred_and_shrinks_at_the_ends():
    assert windowed_mean(np.array([0, 0, 9, 0, 0.0]), 3).tolist() == [0, 3, 3, 3, 0]
    assert windowed_mean(np.arange(5.0), 3).tolist() == [0.5, 1.0, 2.0, 3.0, 3.5]
    assert windowed_mean(np.arange(5.0), 9).tolist() == [2.0] * 5


@pytest.mark.parametrize(
    "params, n_probes, match",
    [
        (dict(tau_lo=0.9, tau_hi=0.5), None, "tau_lo .0.9. must be below tau_hi .0.5."),
        (dict(tau_lo=0.5, tau_hi=0.5), None, "must be below tau_hi"),
        (dict(fractions=(0.7, 0.4)), None, "fractions 0.7,0.4 sum to 1.100 > 1"),
        (dict(fractions=(0.5,)), None, "'fractions' parameter"),
        (dict(calib="quantiles"), None, "'calib' parameter"),
        (dict(max_annotate_frac=0.01), 20, "allows 1 annotated items but the 20 probes"),
        (dict(), 101, "'n_probes' parameter of PivotTrace must be None or an int in .1, 100."),
        (dict(), 0, "'n_probes' parameter"),
    ],
)
def test_bad_parameters_raise_one_line_errors(params, n_probes, match):
    with pytest.raises(OprdInputError, match=match) as error:
        PivotTrace(n_probes, **params).select_probes(np.arange(100.0))
    assert "\n" not in str(error.value)


def test_probe_values_must_match_the_probes():
    u = np.arange(100.0)
    with pytest.raises(OprdInputError, match="probe_pass_rates must hold 10 values"):
        PivotTrace(10).fit(u, np.zeros(9))
    with pytest.raises(OprdInputError, match="probe_pass_rates is required"):
        PivotTrace(10).fit(u)
    with pytest.raises(OprdInputError, match="probe_majority_correct is required"):
        PivotTrace(10, calib="pseudo_label").fit(u, np.zeros(10))
