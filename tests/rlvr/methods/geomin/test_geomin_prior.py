"""GeoMinPrior on synthetic hidden states: layer choice, calibration, affinity, warm-up, state."""

import json

import numpy as np
import pytest

from oprd.rlvr.methods.geomin.prior import (
    GeoMinOptions,
    GeoMinPrior,
    affinity,
    candidate_layers,
)

LAYERS = [4, 8, 12]
INFORMATIVE = 8
D = 32


def _step(rng, n_prompts=4, g=8, shift=1.0):
    """Features for n_prompts mixed groups: only layer 8 moves with correctness."""
    correct = rng.random(n_prompts * g) < 0.5
    correct[::g], correct[1::g] = True, False  # every group mixed
    direction = np.zeros(D)
    direction[0] = 1.0
    features = {}
    for layer in LAYERS:
        noise = rng.standard_normal((correct.size, D)) + 5.0  # an offset the centring must remove
        if layer == INFORMATIVE:
            noise += shift * np.where(correct, 1.0, -1.0)[:, None] * direction
        features[layer] = noise
    groups = np.repeat(np.arange(n_prompts), g)
    return features, correct, groups


def _trained(options=None, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    prior = GeoMinPrior(LAYERS, options or GeoMinOptions(warmup_per_class=64))
    for _ in range(steps):
        features, correct, groups = _step(rng)
        prior.update(features, np.arange(correct.size), correct, groups)
    return prior, rng


def test_candidate_layers_are_every_fourth_plus_the_last():
    assert candidate_layers(30) == [4, 8, 12, 16, 20, 24, 28, 30]
    assert candidate_layers(2) == [2]
    assert candidate_layers(8, 4) == [4, 8]


def test_auroc_layer_choice_finds_the_informative_layer_and_calibrates():
    prior, rng = _trained()
    assert prior.ready
    assert prior.selection.layers[0] == INFORMATIVE
    assert prior.selection.auroc[INFORMATIVE] > 0.8
    assert all(abs(prior.selection.auroc[layer] - 0.5) < 0.15 for layer in LAYERS if layer != INFORMATIVE)
    assert prior.selection.a > 0
    single, rng = _trained(GeoMinOptions(top_layers=1))
    assert single.selection.layers == [INFORMATIVE]
    features, correct, _ = _step(rng)
    q = single.probabilities(features)
    assert q[correct].mean() > q[~correct].mean() + 0.2
    assert np.all((q > 0) & (q < 1))


def test_warm_up_counts_each_class_and_boundary_only_skips_unanimous_groups():
    rng = np.random.default_rng(1)
    prior = GeoMinPrior(LAYERS, GeoMinOptions(warmup_per_class=20))
    features, correct, groups = _step(rng, n_prompts=2)
    correct[8:] = True  # second group all correct: not a boundary group
    prior.update(features, np.arange(16), correct, groups)
    assert prior.seen.sum() == 8 and not prior.ready
    both = GeoMinPrior(LAYERS, GeoMinOptions(warmup_per_class=20, boundary_only=False))
    both.update(features, np.arange(16), correct, groups)
    assert both.seen.sum() == 16


def test_fifo_statistics_keep_only_the_window_and_decay_shrinks_old_steps():
    fifo, _ = _trained(GeoMinOptions(stats="fifo", fifo_steps=2, warmup_per_class=0), steps=5)
    assert fifo.count[INFORMATIVE].sum() == pytest.approx(64.0)  # two steps of 32 labeled rollouts
    decay, _ = _trained(GeoMinOptions(decay=0.5, warmup_per_class=0), steps=5)
    assert decay.count[INFORMATIVE].sum() == pytest.approx(32 * (1 + 0.5 + 0.25 + 0.125 + 0.0625))


def test_affinity_follows_the_formula():
    q = np.array([0.9, 0.8, 0.7, 0.2, 0.4])
    majority = np.array([True, True, True, False, False])
    assert affinity(q, majority) == pytest.approx(0.5 * (0.8 + 0.7))
    assert affinity(q[:3], majority[:3]) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        affinity(q, np.zeros(5, dtype=bool))


def test_state_round_trip_through_json_resumes_identically():
    prior, rng = _trained(GeoMinOptions(stats="fifo", warmup_per_class=16, min_gmm_points=4))
    prior.weights([0.2, 0.9, 0.4])
    restored = GeoMinPrior(LAYERS, GeoMinOptions(stats="fifo", warmup_per_class=16, min_gmm_points=4))
    restored.load_state_dict(json.loads(json.dumps(prior.state_dict())))
    features, correct, groups = _step(rng)
    for model in (prior, restored):
        model.update(features, np.arange(correct.size), correct, groups)
    np.testing.assert_allclose(restored.probabilities(features), prior.probabilities(features), rtol=1e-12)
    assert restored.weights([0.1, 0.5, 0.8]).weights.tolist() == prior.weights([0.1, 0.5, 0.8]).weights.tolist()
    assert restored.state_dict() == prior.state_dict()


def test_bad_options_use_the_one_error_shape():
    with pytest.raises(ValueError, match="The 'stats' parameter of GeoMinOptions must be decay or fifo"):
        GeoMinOptions(stats="window").validate()
    with pytest.raises(ValueError, match="'decay'"):
        GeoMinOptions(decay=0.0).validate()
