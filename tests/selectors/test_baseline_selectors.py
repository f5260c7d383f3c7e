"""Behaviour specific to each baseline selector."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from oprd.errors import OprdInputError
from oprd.selectors import (
    KCenterSelector,
    KMeansSelector,
    RandomSelector,
    ScoreSelector,
    UtilitySelector,
    farthest_first,
)


def test_random_is_seeded():
    a = RandomSelector(10, seed=1).fit(np.zeros((100, 2))).ranking_
    assert np.array_equal(a, RandomSelector(10, seed=1).fit(list(range(100))).ranking_)
    assert not np.array_equal(a, RandomSelector(10, seed=2).fit(np.zeros((100, 2))).ranking_)
    sel = RandomSelector(10, seed=1).fit(np.zeros(100))
    assert np.all(np.diff(sel.scores_) <= 0)  # priorities, highest first


@pytest.mark.parametrize("seed", [-1, 1.5, None, "0"])
def test_random_bad_seed(seed):
    with pytest.raises(OprdInputError, match="The 'seed' parameter of RandomSelector must be an int >= 0"):
        RandomSelector(3, seed=seed).fit(np.zeros(10))


def test_score_selector_orders_and_breaks_ties_by_index():
    scores = [0.5, 2.0, 1.0, 2.0, 0.5, 1.0]
    assert ScoreSelector(4).fit(scores).ranking_.tolist() == [1, 3, 2, 5]
    low = ScoreSelector(3, descending=False).fit(scores)
    assert low.ranking_.tolist() == [0, 4, 2]
    assert low.scores_.tolist() == [0.5, 0.5, 1.0]
    assert UtilitySelector(3).fit(scores).ranking_.tolist() == [1, 3, 2]


def test_score_selector_rejects_bad_inputs():
    with pytest.raises(OprdInputError, match="row 2"):
        ScoreSelector(1).fit([1.0, 2.0, np.nan])
    with pytest.raises(OprdInputError, match="The 'descending' parameter of ScoreSelector must be a bool"):
        ScoreSelector(1, descending="yes").fit([1.0, 2.0])


def test_kcenter_is_unweighted_farthest_first_with_seeds():
    X = np.random.default_rng(2).standard_normal((120, 4)).astype(np.float32)
    sel = KCenterSelector(10).fit(X)
    assert np.array_equal(sel.ranking_, farthest_first(X, 10))
    assert sel.scores_[0] == 1.0 and np.all(np.diff(sel.scores_[1:]) <= 1e-6)  # k-center radii shrink
    seeded = KCenterSelector(5).fit(X, seed_indices=[3, 9])
    assert np.array_equal(seeded.ranking_, farthest_first(X, 5, seed_indices=[3, 9]))


def test_kmeans_picks_nearest_member_per_cluster_by_size():
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(4)
    sizes = [30, 10, 20]
    X = np.concatenate([rng.normal(c * 10.0, 1.0, size=(m, 3)) for c, m in enumerate(sizes)]).astype(np.float32)
    sel = KMeansSelector(3, seed=0).fit(X)
    km = KMeans(n_clusters=3, random_state=0, n_init=1).fit(X)
    assert sel.scores_.tolist() == [30.0, 20.0, 10.0]
    for pick, size in zip(sel.ranking_, sel.scores_, strict=True):
        label = km.labels_[pick]
        members = np.flatnonzero(km.labels_ == label)
        assert len(members) == size
        d2 = ((X[members] - km.cluster_centers_[label]) ** 2).sum(axis=1)
        assert pick == members[np.argmin(d2)]


def test_kmeans_with_fewer_distinct_rows_than_k_gives_distinct_picks():
    X = np.repeat(np.eye(3, dtype=np.float32), 4, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn: fewer distinct points than clusters
        sel = KMeansSelector(5).fit(X)
    assert len(set(sel.ranking_.tolist())) == 5


@pytest.mark.parametrize("param", ["n_init", "max_iter"])
def test_kmeans_bad_int_params(param):
    with pytest.raises(OprdInputError, match=f"The '{param}' parameter of KMeansSelector"):
        KMeansSelector(2, **{param: 0}).fit(np.eye(4))
