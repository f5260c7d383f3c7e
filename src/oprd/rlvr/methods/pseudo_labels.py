"""Majority-vote pseudo-labels for unlabeled prompts, and their audit against hidden true answers.

:func:`assign_majority` is the label step GeoMin and TraPO share with TTRL: the representative of
the unique largest equivalence cluster of a group's answers (None on a tie or with no answers),
returned with the cluster so callers know which rollouts agree. :class:`PseudoLabelAudit` logs how
often those labels are right whenever the rows carry ``hidden_answer`` (``--label-fraction``
simulations), split by whether the prompt was trained this step.
"""

from __future__ import annotations

from oprd.rlvr.hooks import StepBatch, TrainerHook
from oprd.verify import AnswerCluster, extract_answer, is_equivalent, majority_cluster

HIDDEN_ANSWER = "hidden_answer"


def assign_majority(batch: StepBatch) -> dict[int, AnswerCluster | None]:
    """Set ``batch.labels[p]`` of every unlabeled prompt to its majority answer.

    Returns ``{global position: majority cluster or None}`` so that a later hook of the same step
    can tell majority rollouts (``cluster.indices``, group-relative) from the rest.
    """
    clusters: dict[int, AnswerCluster | None] = {}
    for p in range(batch.n_prompts):
        if batch.gold[p] is None:
            cluster = majority_cluster([extract_answer(text) for text in batch.texts(p)])
            batch.labels[p] = cluster.answer if cluster else None
            clusters[batch.positions[p]] = cluster
    return clusters


class PseudoLabelAudit(TrainerHook):
    """Accuracy of unlabeled prompts' training labels against ``hidden_answer`` (diagnostics only).

    Metrics: ``unlabeled/pseudo_acc`` over prompts that have a label, ``unlabeled/pseudo_acc_kept``
    over those trained this step (weight > 0; the precision of the kept pseudo-labels) and
    ``unlabeled/pseudo_acc_dropped`` over those given weight 0. Runs after the other components.
    """

    name = "pseudo_label_audit"
    order = 90  # after every hook that changes labels

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def after_advantages(self, batch: StepBatch) -> None:
        kept, dropped = [], []
        for p in range(batch.n_prompts):
            truth = self.rows[batch.rows[p]].get(HIDDEN_ANSWER)
            if batch.gold[p] is not None or truth is None or batch.labels[p] is None:
                continue
            right = float(is_equivalent(batch.labels[p], str(truth)))
            (kept if batch.weights[p] > 0 else dropped).append(right)
        for name, values in (("pseudo_acc", kept + dropped), ("pseudo_acc_kept", kept),
                             ("pseudo_acc_dropped", dropped)):
            if values:
                batch.metrics[f"unlabeled/{name}"] = sum(values) / len(values)
        if kept or dropped:
            batch.metrics["unlabeled/audited_prompts"] = float(len(kept) + len(dropped))
