"""The sklearn-style contract, run over every selector in the registry."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from oprd.errors import OprdInputError
from oprd.selectors import SELECTORS, NotFittedError

N = 40
_rng = np.random.default_rng(0)
_X = _rng.standard_normal((N, 5)).astype(np.float32)
_S = _rng.standard_normal((N, 6)).astype(np.float32)
_E = _S + _rng.standard_normal((N, 6)).astype(np.float32)
_SCORES = np.round(_rng.random(N), 1)  # rounded: many ties

FIT_ARGS = {
    "shift": (_S, _E),
    "random": (_X,),
    "utility": (_SCORES,),
    "kcenter": (_X,),
    "kmeans": (_X,),
    "score": (_SCORES,),
}


def _fit_args(name: str) -> tuple:
    if name not in FIT_ARGS:
        pytest.fail(f"selector {name!r} has no contract-test inputs: add them to FIT_ARGS")
    return FIT_ARGS[name]


@pytest.fixture(params=sorted(SELECTORS))
def name(request) -> str:
    return request.param


def test_init_stores_params_untouched(name):
    cls = SELECTORS[name]
    marker = object()
    est = cls(budget=marker)  # nothing is validated before fit
    params = est.get_params()
    assert params["budget"] is marker
    sig = inspect.signature(cls.__init__).parameters
    for p, value in params.items():
        if p != "budget":
            assert value is sig[p].default or value == sig[p].default
    assert set(params) == set(sig) - {"self"}
    assert clone(cls(budget=3)).get_params() == cls(budget=3).get_params()


@pytest.mark.parametrize("budget", [7, 1, N, 0.1, 1.0])
def test_fit_returns_self_with_a_consistent_selection(name, budget):
    est = SELECTORS[name](budget=budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kmeans may warn about duplicate points at k = N
        assert est.fit(*_fit_args(name)) is est
    expected = budget if isinstance(budget, int) else int(np.ceil(budget * N))
    ranking = est.ranking_
    assert est.budget_ == expected and len(ranking) == expected
    assert ranking.dtype == np.int64 and len(set(ranking.tolist())) == expected
    assert ranking.min() >= 0 and ranking.max() < N
    assert est.scores_.shape == (expected,) and np.isfinite(est.scores_).all()
    assert est.n_samples_in_ == N
    mask = est.get_support()
    assert mask.dtype == bool and mask.shape == (N,) and mask.sum() == expected
    assert mask[ranking].all()
    assert np.array_equal(est.get_support(indices=True), ranking)
    assert est.get_params()["budget"] == budget


def test_fit_is_deterministic(name):
    a = SELECTORS[name](budget=9).fit(*_fit_args(name)).ranking_
    b = SELECTORS[name](budget=9).fit(*_fit_args(name)).ranking_
    assert np.array_equal(a, b)


@pytest.mark.parametrize("budget", [0, -3, N + 1, 0.0, 1.5, -0.5, float("nan"), "5", None, True, [3]])
def test_bad_budget_has_the_one_error_shape(name, budget):
    cls = SELECTORS[name]
    msg = (
        rf"^The 'budget' parameter of {cls.__name__} must be an int in \[1, n_samples\] "
        rf"or a float in \(0, 1\]\. Got .* instead\.$"
    )
    with pytest.raises(OprdInputError, match=msg):
        cls(budget=budget).fit(*_fit_args(name))


def test_get_support_before_fit(name):
    with pytest.raises(NotFittedError):
        SELECTORS[name](budget=3).get_support()
