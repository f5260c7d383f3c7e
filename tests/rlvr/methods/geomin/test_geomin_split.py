"""The reliable / unreliable split of affinities into weights (docs/methods/geomin.md, section 5)."""

import numpy as np
import pytest

from oprd.rlvr.methods.geomin.split import ReliabilitySplit


def test_posterior_maps_to_one_pi_or_zero():
    split = ReliabilitySplit()
    got = split.weights_from_posterior([0.95, 0.9, 0.7, 0.5, 0.49, 0.0])
    assert got.tolist() == [1.0, 1.0, 0.7, 0.5, 0.0, 0.0]


def test_two_modes_keep_the_high_one_and_drop_the_low_one():
    rng = np.random.default_rng(0)
    low, high = rng.normal(0.3, 0.03, 20), rng.normal(0.8, 0.03, 20)
    result = ReliabilitySplit().split(np.concatenate([low, high]))
    assert result.rule == "gmm"
    assert result.weights[20:].tolist() == [1.0] * 20
    assert result.weights[:20].tolist() == [0.0] * 20
    assert result.means == pytest.approx((0.3, 0.8), abs=0.03)


def test_points_between_the_modes_are_down_weighted_by_their_posterior():
    rng = np.random.default_rng(1)
    split = ReliabilitySplit(min_points=32)
    split.split(np.concatenate([rng.normal(0.3, 0.05, 60), rng.normal(0.8, 0.05, 60)]))
    grid = np.linspace(0.3, 0.8, 101)
    result = split.split(grid)
    assert result.rule == "gmm"
    w = result.weights
    assert w[0] == 0.0 and w[-1] == 1.0
    assert np.all(np.diff(w) >= 0)
    partial = w[(w > 0) & (w < 1)]
    assert partial.size and np.all((partial >= 0.5) & (partial < 0.9))


def test_few_points_use_the_median_rule_until_the_fifo_fills():
    split = ReliabilitySplit(history=4, min_points=32)
    values = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95, 0.05]
    for _ in range(3):
        result = split.split(values)
        assert result.rule == "median"
        assert result.weights.tolist() == [float(v >= np.median(values)) for v in values]
    assert split.split(values).rule in ("gmm", "close-means")  # 40 pooled points


def test_close_means_fall_back_to_the_median():
    rng = np.random.default_rng(2)
    values = np.concatenate([0.5 + rng.normal(0.0, 1e-3, 60), [0.1, 0.3, 0.7, 0.9]])  # one mode, a few outliers
    result = ReliabilitySplit().split(values)
    assert result.rule == "close-means"
    assert result.weights.tolist() == [float(v >= np.median(values)) for v in values]


def test_history_is_a_fifo_of_four_steps_and_round_trips():
    split = ReliabilitySplit(history=4)
    for k in range(6):
        split.split([float(k)])
    assert [step[0] for step in split.past] == [2.0, 3.0, 4.0, 5.0]
    other = ReliabilitySplit(history=4)
    other.load_state_dict(split.state_dict())
    assert list(other.past) == list(split.past)
