"""Group sampled answers into equivalence clusters and take the majority (the pseudo-label of
semi-supervised RLVR, and the agreement signal features use)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from oprd.verify.equivalence import is_equivalent


@dataclass
class AnswerCluster:
    """Answers judged equivalent: ``answer`` is the first one seen, ``indices`` index the input list."""

    answer: str
    indices: list[int] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.indices)


def cluster_answers(answers: Sequence[str | None], *, timeout_s: float = 2.0) -> list[AnswerCluster]:
    """Clusters of equivalent answers, largest first (ties: first appearance first).

    None and blank answers join no cluster. Each new answer joins the first cluster whose representative
    it is equivalent to (:func:`is_equivalent`, representative as gold); repeated strings are matched once.
    """
    clusters: list[AnswerCluster] = []
    by_text: dict[str, AnswerCluster] = {}
    for index, answer in enumerate(answers):
        if answer is None or not answer.strip():
            continue
        key = answer.strip()
        cluster = by_text.get(key)
        if cluster is None:
            cluster = next((c for c in clusters if is_equivalent(answer, c.answer, timeout_s=timeout_s)), None)
            if cluster is None:
                cluster = AnswerCluster(answer)
                clusters.append(cluster)
            by_text[key] = cluster
        cluster.indices.append(index)
    return sorted(clusters, key=lambda c: -c.size)


def majority_cluster(answers: Sequence[str | None], *, timeout_s: float = 2.0) -> AnswerCluster | None:
    """The unique largest cluster; None when there is no answer or the largest clusters tie.

    For callers that also need which samples agree with the majority (TTRL rewards, OLR pass rates).
    """
    clusters = cluster_answers(answers, timeout_s=timeout_s)
    if not clusters or (len(clusters) > 1 and clusters[1].size == clusters[0].size):
        return None
    return clusters[0]


def majority_vote(answers: Sequence[str | None], *, timeout_s: float = 2.0) -> str | None:
    """The representative of the largest cluster; None when there is no answer or the largest clusters tie."""
    cluster = majority_cluster(answers, timeout_s=timeout_s)
    return cluster.answer if cluster else None
