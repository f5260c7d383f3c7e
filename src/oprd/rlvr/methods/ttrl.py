"""TTRL: an unlabeled prompt trains with the majority answer of its own group (test-time RL)."""

from __future__ import annotations

from oprd.rlvr.hooks import StepBatch, TrainerHook


class MajorityVoteLabels(TrainerHook):
    """``--unlabeled-reward ttrl``: the label of an unlabeled prompt is its group's majority answer
    (None on ties, so the prompt is dropped this visit)."""

    name = "ttrl"
    order = 20

    def after_rollouts(self, batch: StepBatch) -> None:
        from oprd.verify import extract_answer, majority_vote

        voted = found = 0
        for p in range(batch.n_prompts):
            if batch.gold[p] is None:
                voted += 1
                batch.labels[p] = majority_vote([extract_answer(t) for t in batch.texts(p)])
                found += batch.labels[p] is not None
        if voted:
            batch.metrics["unlabeled/prompts"] = voted
            batch.metrics["unlabeled/majority_found"] = found / voted


def build(config, data, options) -> list[TrainerHook]:
    """The TTRL hook when the data has unlabeled rows."""
    return [MajorityVoteLabels()] if data.n_labeled < data.n else []
