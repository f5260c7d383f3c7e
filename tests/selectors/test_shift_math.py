"""SHIFT features against hand-computed values, and ShiftSelector's wiring to the engine."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from oprd.errors import OprdInputError
from oprd.selectors import ShiftSelector, shift_features, weighted_farthest_first


def test_shift_features_by_hand():
    s = np.array([[3.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    e = np.array([[3.0, 4.0], [1.0, 1.0], [0.0, 0.0], [-1.0, 0.0]], dtype=np.float32)
    phi, q = shift_features(s, e)
    assert phi.dtype == np.float32 and phi.shape == (4, 4)
    assert q.dtype == np.float64
    np.testing.assert_allclose(q, [math.log(5.0), 0.0, 0.0, math.log(2.0)], rtol=1e-12)
    r = 1 / math.sqrt(2)
    expected = [[0.6, 0.0, 0.0, 0.8], [r, r, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0]]
    np.testing.assert_allclose(phi, expected, rtol=1e-6, atol=1e-7)


def test_shift_features_chunking_and_float16():
    rng = np.random.default_rng(0)
    s, e = rng.standard_normal((50, 6)), rng.standard_normal((50, 6))
    phi, q = shift_features(s, e)
    phi_c, q_c = shift_features(s, e, chunk_rows=7)
    assert np.array_equal(phi, phi_c) and np.array_equal(q, q_c)
    np.testing.assert_allclose(np.linalg.norm(phi, axis=1), 1.0, rtol=1e-6)
    phi16, _ = shift_features(s, e, dtype="float16")
    assert phi16.dtype == np.float16
    np.testing.assert_allclose(phi16, phi, atol=1e-3)


@pytest.mark.parametrize(
    "s, e, match",
    [
        (np.zeros((3, 2)), np.zeros((3, 3)), "same shape"),
        (np.zeros(3), np.zeros(3), "2-D"),
        (np.zeros((3, 2)), np.array([[0, 0], [0, np.inf], [0, 0]]), "end_states .* row 1"),
        (np.array([[0, 0], [0, 0], [np.nan, 0]]), np.zeros((3, 2)), "start_states .* row 2"),
    ],
)
def test_shift_features_bad_inputs(s, e, match):
    with pytest.raises(OprdInputError, match=match):
        shift_features(s, e)


def _states(n: int = 200, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((n, d)).astype(np.float32)
    return s, s + rng.standard_normal((n, d)).astype(np.float32) * rng.random((n, 1)).astype(np.float32)


def test_shift_selector_matches_the_engine_and_sets_attributes():
    s, e = _states()
    sel = ShiftSelector(12).fit(s, e)
    phi, q = shift_features(s, e)
    assert np.array_equal(sel.ranking_, weighted_farthest_first(phi, q, 12))
    assert np.array_equal(sel.phi_, phi) and np.array_equal(sel.utility_, q)
    assert sel.ranking_[0] == int(np.argmax(q))
    assert sel.scores_[0] == q[sel.ranking_[0]]
    j, first = sel.ranking_[1], sel.ranking_[0]
    expected = q[j] * np.linalg.norm(phi[j].astype(np.float64) - phi[first])
    assert sel.scores_[1] == pytest.approx(expected, rel=1e-5)
    assert sel.n_samples_in_ == 200 and sel.budget_ == 12 and sel.n_filled_ == 0


def test_shift_selector_fraction_budget_float16_and_first():
    s, e = _states()
    sel = ShiftSelector(0.051, dtype="float16", first=7).fit(s, e)
    assert sel.budget_ == math.ceil(0.051 * 200)
    assert sel.phi_.dtype == np.float16
    assert sel.ranking_[0] == 7


def test_shift_selector_fills_duplicate_prompts_with_a_warning():
    s, e = _states(n=3)
    s, e = np.repeat(s, 2, axis=0), np.repeat(e, 2, axis=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sel = ShiftSelector(5).fit(s, e)
    assert sel.n_filled_ == 2
    assert len(set(sel.ranking_.tolist())) == 5
    assert any("filled" in str(w.message) for w in caught)
