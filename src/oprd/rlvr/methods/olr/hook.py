"""Label noise and online label refinement inside the trainer (docs/methods/olr.md).

Rows made by ``oprd data corrupt`` carry ``original_answer`` (the truth, for metrics only) and
``noise``: ``inactive`` rows already hold a sentinel label; ``active`` rows get, at every visit, a
wrong answer drawn from their own rollout group. With refinement on, every labeled prompt's label
for this visit comes from :class:`OnlineLabelRefiner`; the stored label is never overwritten.
"""

from __future__ import annotations

import random

from oprd.rlvr.hooks import StepBatch, TrainerHook
from oprd.rlvr.methods.olr.refiner import OnlineLabelRefiner, active_noise_label, noise_metrics


class LabelRefinement(TrainerHook):
    """Applies simulated noise where the data says so, then OLR when ``refiner`` is given."""

    name = "olr"
    order = 10

    def __init__(self, rows: list[dict], refiner: OnlineLabelRefiner | None, *, seed: int = 0) -> None:
        self.rows = rows
        self.refiner = refiner
        self.seed = seed

    def after_rollouts(self, batch: StepBatch) -> None:
        from oprd.verify import extract_answer, reward_against

        truths, noisy, accuracies, labels = [], [], [], []
        for p in range(batch.n_prompts):
            if batch.gold[p] is None:
                continue
            row = self.rows[batch.rows[p]]
            texts = batch.texts(p)
            answers = [extract_answer(t) for t in texts]
            stored = batch.gold[p]
            if row.get("noise") == "active":
                rng = random.Random(f"{self.seed}:{batch.ids[p]}:{batch.epochs[p]}:{len(batch.rollouts)}")
                stored = active_noise_label(answers, str(row["original_answer"]), rng)
            label = self.refiner.observe(batch.ids[p], answers, batch.epochs[p], stored) if self.refiner else stored
            batch.labels[p] = label
            if row.get("original_answer") is not None:
                truths.append(str(row["original_answer"]))
                noisy.append(row.get("noise") is not None)
                accuracies.append(sum(reward_against(texts, truths[-1])) / len(texts))
                labels.append(label)
        if truths:
            for key, value in noise_metrics(labels, truths, noisy, accuracies).items():
                batch.metrics[f"olr/{key}"] = value
        if self.refiner:
            decisions = [self.refiner.last_decision(batch.ids[p]) for p in range(batch.n_prompts) if batch.gold[p] is not None]
            if decisions:
                batch.metrics["olr/replaced_fraction"] = sum(bool(d and d.replaced) for d in decisions) / len(decisions)

    def state_dict(self) -> dict:
        return self.refiner.state_dict() if self.refiner else {}

    def load_state_dict(self, state: dict) -> None:
        if self.refiner and state:
            self.refiner.load_state_dict(state)


def build(config, data, *, warn) -> list[TrainerHook]:
    """Simulated noise where rows carry it, refined by OLR when ``config.olr``; ``warn`` gets a line
    when the run is too short for refinement to start."""
    refiner = None
    if config.olr:
        refiner = OnlineLabelRefiner(delta=config.olr_delta, start_epoch=config.olr_start_epoch,
                                     window=config.olr_window, sticky=config.olr_sticky,
                                     min_visits=config.olr_min_visits)
        epochs = -(-config.max_steps * config.batch_size // max(data.n, 1))
        warning = refiner.schedule_warning(epochs)
        if warning:
            warn(warning)
    return [LabelRefinement(data.rows, refiner, seed=config.seed)]
