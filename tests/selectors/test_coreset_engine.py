"""Coreset engine: brute-force equivalence, backend agreement, golden picks, fill, validation."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oprd.errors import OprdInputError
from oprd.selectors import farthest_first, run_coreset, weighted_farthest_first

BACKENDS = [b for b in ("numpy", "faiss", "torch") if b == "numpy" or importlib.util.find_spec(b)]


def brute_force(X: np.ndarray, w: np.ndarray, budget: int, seeds: tuple = ()) -> tuple[list[int], int]:
    """Reference: recompute every distance from scratch at every step, in float64."""
    X = X.astype(np.float64)
    picks: list[int] = []
    centres = list(seeds)
    if not centres:
        picks.append(int(np.argmax(w)))
        centres.append(picks[0])
    while len(picks) < budget:
        diff = X[:, None, :] - X[None, centres, :]
        dmin = np.sqrt((diff * diff).sum(axis=-1)).min(axis=1)
        score = w * dmin
        score[centres] = -np.inf
        if score.max() == 0:
            rest = np.array([i for i in range(len(X)) if i not in centres])
            fill = rest[np.lexsort((rest, -w[rest]))][: budget - len(picks)]
            return picks + [int(i) for i in fill], len(fill)
        j = int(np.flatnonzero(score == score.max())[0])
        picks.append(j)
        centres.append(j)
    return picks, 0


@st.composite
def problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    """Small matrices on a coarse grid (so duplicates and exact ties are common) or Gaussian."""
    n = draw(st.integers(1, 24))
    d = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        X = rng.integers(-2, 3, size=(n, d)).astype(np.float32)
    else:
        X = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.choice([0.0, 0.5, 1.0, 2.0], size=n) if draw(st.booleans()) else rng.random(n) + 0.1
    return X, w, draw(st.integers(1, n))


@settings(max_examples=120, deadline=None)
@given(problems())
def test_incremental_equals_brute_force_on_every_backend(problem):
    X, w, budget = problem
    expected, n_filled = brute_force(X, w, budget)
    for backend in BACKENDS:
        result = run_coreset(X, w, budget, backend=backend)
        assert result.indices.tolist() == expected, backend
        assert result.n_filled == n_filled, backend


@settings(max_examples=40, deadline=None)
@given(problems(), st.data())
def test_seeded_farthest_first_equals_brute_force(problem, data):
    X, _, _ = problem
    n = len(X)
    if n < 2:
        return
    seeds = tuple(sorted(set(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n - 1)))))
    budget = data.draw(st.integers(1, n - len(seeds)))
    expected, _ = brute_force(X, np.ones(n), budget, seeds)
    got = farthest_first(X, budget, seed_indices=list(seeds), backend="numpy")
    assert got.tolist() == expected
    assert not set(got.tolist()) & set(seeds)


def test_backends_agree_on_random_and_tied_inputs():
    rng = np.random.default_rng(7)
    gauss = rng.standard_normal((3000, 48)).astype(np.float32)
    gauss /= np.linalg.norm(gauss, axis=1, keepdims=True)
    grid = rng.integers(-1, 2, size=(3000, 6)).astype(np.float32)  # 729 distinct rows, many ties
    dups = np.repeat(rng.standard_normal((25, 8)).astype(np.float32), 4, axis=0)
    cases = [
        (gauss, rng.random(3000) + 0.5, 80),
        (grid, np.ones(3000), 300),
        (grid, rng.integers(1, 4, size=3000).astype(float), 200),
        (dups, np.ones(100), 40),
    ]
    for X, w, budget in cases:
        results = [run_coreset(X, w, budget, backend=b) for b in BACKENDS]
        for r in results[1:]:
            assert np.array_equal(r.indices, results[0].indices)
            assert r.n_filled == results[0].n_filled
            np.testing.assert_allclose(r.scores, results[0].scores, rtol=1e-5, atol=1e-6)


GOLDEN_WEIGHTED = [93, 371, 163, 255, 210, 459, 237, 183, 281, 155, 303, 185]
GOLDEN_UNWEIGHTED = [0, 105, 121, 284, 362, 372, 222, 294, 393, 30, 115, 281]


@pytest.mark.parametrize("backend", BACKENDS)
def test_golden_indices(backend):
    rng = np.random.default_rng(1234)
    X = rng.standard_normal((500, 16)).astype(np.float32)
    w = rng.random(500)
    assert weighted_farthest_first(X, w, 12, backend=backend).tolist() == GOLDEN_WEIGHTED
    assert farthest_first(X, 12, backend=backend).tolist() == GOLDEN_UNWEIGHTED


@pytest.mark.parametrize("backend", BACKENDS)
def test_fewer_distinct_points_than_budget_are_filled_and_counted(backend):
    base = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]], dtype=np.float32)
    X = np.repeat(base, 3, axis=0)  # rows 0-2, 3-5, 6-8 are copies
    w = np.array([1.0, 2.0, 1.0, 1.0, 1.0, 5.0, 1.0, 3.0, 3.0])
    result = run_coreset(X, w, 7, backend=backend)
    assert result.indices[:3].tolist() == [5, 7, 1]
    assert result.indices[3:].tolist() == [8, 0, 2, 3]  # by weight desc, ties to the lowest index
    assert result.n_filled == 4
    assert result.scores[3:].tolist() == [0.0] * 4


def test_zero_weight_rows_score_zero_and_are_filled_last():
    X = np.arange(10, dtype=np.float32).reshape(5, 2)
    w = np.array([0.0, 1.0, 0.0, 0.0, 1.0])
    result = run_coreset(X, w, 5, backend="numpy")
    assert result.indices.tolist() == [1, 4, 0, 2, 3]
    assert result.n_filled == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_float16_storage_matches_float32(backend):
    rng = np.random.default_rng(3)
    exact = (rng.integers(-64, 64, size=(400, 12)) / 8).astype(np.float32)  # exactly representable
    w = rng.integers(1, 9, size=400).astype(float)
    ref = weighted_farthest_first(exact, w, 60, backend=backend)
    assert np.array_equal(weighted_farthest_first(exact, w, 60, backend=backend, dtype="float16"), ref)
    assert np.array_equal(weighted_farthest_first(exact.astype(np.float16), w, 60, backend=backend), ref)

    separated = rng.standard_normal((150, 32)).astype(np.float32) * 10  # pairwise gaps >> fp16 error
    sw = rng.permutation(1.0 + np.arange(150) / 50.0)
    ref = weighted_farthest_first(separated, sw, 30, backend=backend)
    assert np.array_equal(weighted_farthest_first(separated, sw, 30, backend=backend, dtype="float16"), ref)


@pytest.mark.parametrize("backend", BACKENDS)
def test_chunked_conversion_gives_same_indices(backend):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((1000, 24)).astype(np.float16)
    w = rng.random(1000)
    ref = weighted_farthest_first(X, w, 40, backend="numpy")
    assert np.array_equal(weighted_farthest_first(X, w, 40, backend=backend, chunk_rows=7), ref)


def test_torch_tensor_input():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    X = rng.standard_normal((300, 10)).astype(np.float32)
    ref = farthest_first(X, 20, backend="numpy")
    assert np.array_equal(farthest_first(torch.from_numpy(X), 20), ref)
    assert np.array_equal(farthest_first(torch.from_numpy(X), 20, backend="torch"), ref)
    assert np.array_equal(farthest_first(torch.from_numpy(X), 20, backend="torch", device="cpu"), ref)


def test_first_pick_rules_and_progress():
    X = np.array([[0.0], [1.0], [5.0], [2.0]], dtype=np.float32)
    calls = []
    got = weighted_farthest_first(X, [1.0, 3.0, 1.0, 3.0], 3, progress=lambda i, b: calls.append((i, b)))
    assert got.tolist() == [1, 2, 3]  # argmax weight with ties to the lowest index comes first
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert weighted_farthest_first(X, [1.0, 3.0, 1.0, 3.0], 2, first=0).tolist() == [0, 3]
    assert farthest_first(X, 2).tolist() == [0, 2]  # unweighted: row 0 first
    assert farthest_first(X, 2, first=2).tolist() == [2, 0]


def test_scores_are_weight_times_distance_at_pick_time():
    X = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]], dtype=np.float32)
    result = run_coreset(X, [2.0, 1.0, 0.5], 3, backend="numpy")
    assert result.indices.tolist() == [0, 1, 2]  # 5 vs 5: a tie, lowest index first
    np.testing.assert_allclose(result.scores, [2.0, 5.0, 2.5], rtol=1e-6)


@pytest.mark.parametrize("bad_row, value", [(3, np.nan), (5, np.inf), (0, -np.inf)])
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_non_finite_rows_are_named(bad_row, value, dtype):
    X = np.ones((8, 4), dtype=dtype)
    X[bad_row, 2] = value
    X[7, 1] = np.nan  # only the first bad row is named
    with pytest.raises(OprdInputError, match=f"row {bad_row}"):
        farthest_first(X, 2)


@pytest.mark.parametrize(
    "weights, match",
    [([1.0, -1.0, 1.0], "row 1"), ([1.0, 1.0, np.nan], "row 2"), ([1.0, 1.0], "length"), ([[1.0, 1.0, 1.0]], "1-D")],
)
def test_bad_weights(weights, match):
    with pytest.raises(OprdInputError, match=match):
        weighted_farthest_first(np.eye(3, dtype=np.float32), weights, 2)


@pytest.mark.parametrize("budget", [0, -1, 4, 1.0, 2.5, "2", None, True])
def test_bad_budget_has_the_one_error_shape(budget):
    msg = r"The 'budget' parameter of farthest_first must be an int in \[1, n_samples\]\. Got .* instead\."
    with pytest.raises(OprdInputError, match=msg):
        farthest_first(np.eye(3, dtype=np.float32), budget)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"backend": "cuda"}, "backend"),
        ({"dtype": "int8"}, "dtype"),
        ({"first": 3}, "first"),
        ({"chunk_rows": 0}, "chunk_rows"),
        ({"seed_indices": [5]}, "seed_indices"),
        ({"seed_indices": [0], "first": 1}, "first"),
        ({"backend": "numpy", "device": "cpu"}, "device"),
    ],
)
def test_bad_options_have_the_one_error_shape(kwargs, param):
    with pytest.raises(OprdInputError, match=f"The '{param}' parameter of farthest_first must be"):
        farthest_first(np.eye(3, dtype=np.float32), 1, **kwargs)


@pytest.mark.parametrize("X", [np.zeros(3), np.zeros((0, 2)), np.zeros((2, 0)), np.array([["a", "b"]])])
def test_bad_matrix_shapes_and_types(X):
    with pytest.raises(OprdInputError, match="X must"):
        farthest_first(X, 1)


def test_budget_counts_seeds():
    X = np.eye(4, dtype=np.float32)
    assert len(farthest_first(X, 2, seed_indices=[0, 1])) == 2
    with pytest.raises(OprdInputError, match="'budget'"):
        farthest_first(X, 3, seed_indices=[0, 1])
