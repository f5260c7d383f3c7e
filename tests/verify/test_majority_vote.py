"""cluster_answers / majority_vote: equivalent answers merge, None is ignored, ties give None."""

from __future__ import annotations

from oprd.verify import AnswerCluster, cluster_answers, majority_vote


def test_clusters_merge_equivalent_answers_and_sort_by_size():
    clusters = cluster_answers(["3", "1/2", None, "0.5", r"\frac{1}{2}", "3", "7", " "])
    assert clusters == [
        AnswerCluster("1/2", [1, 3, 4]),
        AnswerCluster("3", [0, 5]),
        AnswerCluster("7", [6]),
    ]
    assert [c.size for c in clusters] == [3, 2, 1]


def test_ties_keep_first_appearance():
    assert [c.answer for c in cluster_answers(["9", "8", "8", "9", "1"])] == ["9", "8", "1"]


def test_majority_vote():
    assert majority_vote(["1/2", "3", "0.5", None, None, None]) == "1/2"
    assert majority_vote(["10", "10.0", "11"]) == "10"
    assert majority_vote(["x = 4", "4", "5"]) == "x = 4"


def test_majority_vote_ties_and_empty():
    assert majority_vote(["1", "2"]) is None
    assert majority_vote(["1", "2", "2", "1", "3"]) is None
    assert majority_vote([]) is None
    assert majority_vote([None, None]) is None
    assert majority_vote([None, "5", None]) == "5"


def test_none_is_never_clustered():
    assert cluster_answers([None, None, None]) == []
