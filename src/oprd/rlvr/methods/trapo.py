"""TraPO baseline: train an unlabeled prompt only when its learning trajectory looks like labeled ones.

Published method (Yang et al., "TraPO: A Semi-Supervised Reinforcement Learning Framework for
Boosting LLM Reasoning", arXiv 2512.13106, ICLR 2026): unlabeled prompts are rewarded by majority
vote (TTRL), but only those whose pass-rate trajectory over training matches the trajectories of
labeled prompts are trained on; labeled prompts always use the verifier against gold.

What this module implements (``docs/methods/geomin.md``, "The unlabeled-reward menu"):

* trajectories: a labeled prompt appends its pass rate against gold at every visit; an unlabeled
  prompt appends its majority pass rate (share of the group in the largest answer cluster, 0 with
  no answers) at every visit, warm-up visits included;
* similarity: both trajectories are cut to their last ``L`` visits, ``L`` = the shortest length
  among the candidate and the labeled bank (labeled trajectories with at least ``min_visits``
  entries), z-normalised over time, and compared by cosine similarity; the score is the mean
  over every labeled trajectory. A constant trajectory z-normalises to zeros (similarity 0);
* selection: among this step's unlabeled prompts that have a majority and a score, keep the top
  ``top_fraction`` (rounded up) or any with score >= ``threshold``; weight 1 kept, 0 otherwise;
* warm-up: unlabeled prompts of the first ``warmup_epochs`` epochs are recorded but not trained.

Where it may deviate from the paper: the paper's code was not consulted; cutting to the most
recent visits (rather than the first) and the constant-trajectory rule are our choices, and the
bank holds labeled trajectories only. Correctness of labeled rollouts comes from the verifier
against gold, independent of custom reward functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from oprd.errors import OprdInputError, param_error
from oprd.rlvr.hooks import StepBatch, TrainerHook
from oprd.rlvr.methods.pseudo_labels import assign_majority
from oprd.verify import AnswerCluster, cluster_answers, extract_answer, reward_against


@dataclass
class TraPOOptions:
    """TraPO knobs: warm-up epochs (labeled-only), top fraction and score threshold, bank minimum."""

    warmup_epochs: int = 1
    top_fraction: float = 0.1
    threshold: float = 0.4
    min_visits: int = 2

    def validate(self) -> "TraPOOptions":
        owner = "TraPOOptions"
        if not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0:
            raise param_error("warmup_epochs", owner, "an int >= 0", self.warmup_epochs)
        if not 0.0 <= self.top_fraction <= 1.0:
            raise param_error("top_fraction", owner, "a float in [0, 1]", self.top_fraction)
        if not isinstance(self.min_visits, int) or self.min_visits < 2:
            raise param_error("min_visits", owner, "an int >= 2 (a trajectory needs two points)", self.min_visits)
        return self


def _znorm(values: np.ndarray) -> np.ndarray:
    std = values.std()
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


def trajectory_similarity(candidate, bank, *, min_visits: int = 2) -> float:
    """Mean cosine similarity of the z-normalised candidate to every labeled trajectory in ``bank``.

    NaN when no labeled trajectory has ``min_visits`` entries or the candidate is shorter than 2.
    """
    usable = [np.asarray(t, dtype=np.float64) for t in bank if len(t) >= min_visits]
    if not usable or len(candidate) < 2:
        return math.nan
    length = min(len(candidate), *(len(t) for t in usable))
    cand = _znorm(np.asarray(candidate, dtype=np.float64)[-length:])
    norm = float(np.linalg.norm(cand))
    sims = []
    for trajectory in usable:
        other = _znorm(trajectory[-length:])
        denom = norm * float(np.linalg.norm(other))
        sims.append(float(cand @ other) / denom if denom > 0 else 0.0)
    return float(np.mean(sims))


def select_reliable(scores, *, top_fraction: float = 0.1, threshold: float = 0.4) -> np.ndarray:
    """Bool mask: the top ``ceil(top_fraction * n)`` finite scores, or any score >= ``threshold``."""
    scores = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(scores)
    keep = finite & (scores >= threshold)
    n_top = math.ceil(top_fraction * int(finite.sum()))
    if n_top:
        order = np.argsort(-np.where(finite, scores, -np.inf), kind="stable")
        keep[order[:n_top]] = True
    return keep


class TrajectorySelection(TrainerHook):
    """The ``--unlabeled-reward trapo`` component: majority labels, trajectory-matched selection."""

    name = "trapo"
    order = 20

    def __init__(self, options: TraPOOptions | None = None) -> None:
        self.options = (options or TraPOOptions()).validate()
        self.labeled: dict[str, list[float]] = {}
        self.unlabeled: dict[str, list[float]] = {}
        self._clusters: dict[int, AnswerCluster | None] = {}

    def after_rollouts(self, batch: StepBatch) -> None:
        self._clusters.update(assign_majority(batch))

    def after_advantages(self, batch: StepBatch) -> None:
        clusters, self._clusters = self._clusters, {}
        candidates = []
        for p in range(batch.n_prompts):
            texts = batch.texts(p)
            if batch.gold[p] is not None:
                self.labeled.setdefault(batch.ids[p], []).append(float(np.mean(reward_against(texts, batch.gold[p]))))
                continue
            cluster = clusters.get(batch.positions[p])
            self.unlabeled.setdefault(batch.ids[p], []).append(_largest_share(texts, cluster))
            if cluster is not None and batch.epochs[p] >= self.options.warmup_epochs:
                candidates.append(p)
        unlabeled = [p for p in range(batch.n_prompts) if batch.gold[p] is None]
        scores = [trajectory_similarity(self.unlabeled[batch.ids[p]], self.labeled.values(),
                                        min_visits=self.options.min_visits) for p in candidates]
        keep = select_reliable(scores, top_fraction=self.options.top_fraction, threshold=self.options.threshold)
        kept = {p for p, k in zip(candidates, keep) if k}
        for p in unlabeled:
            if p not in kept:
                batch.weights[p] = 0.0
        if unlabeled:
            batch.metrics["trapo/kept"] = float(len(kept))
            batch.metrics["trapo/dropped"] = float(len(unlabeled) - len(kept))
            batch.metrics["trapo/in_warmup"] = float(sum(batch.epochs[p] < self.options.warmup_epochs
                                                         for p in unlabeled))
        finite = [s for s in scores if math.isfinite(s)]
        if finite:
            batch.metrics["trapo/score_mean"] = float(np.mean(finite))

    def state_dict(self) -> dict:
        return {"labeled": self.labeled, "unlabeled": self.unlabeled}

    def load_state_dict(self, state: dict) -> None:
        self.labeled = {k: list(v) for k, v in state.get("labeled", {}).items()}
        self.unlabeled = {k: list(v) for k, v in state.get("unlabeled", {}).items()}


def _largest_share(texts: list[str], cluster: AnswerCluster | None) -> float:
    """Share of the group in the majority cluster; with a tie, the share of one of the tied clusters."""
    if cluster is not None:
        return cluster.size / len(texts)
    clusters = cluster_answers([extract_answer(t) for t in texts])
    return clusters[0].size / len(texts) if clusters else 0.0


def build(config, data, options: TraPOOptions) -> list[TrainerHook]:
    """The TraPO hook for a run with unlabeled rows; it compares them with labeled ones."""
    if data.n_labeled == 0:
        raise OprdInputError(
            f"--unlabeled-reward trapo compares unlabeled prompts with labeled ones, but {data.source} has no "
            "labeled rows; label some rows, or use --unlabeled-reward ttrl"
        )
    return [TrajectorySelection(options)] if data.n_labeled < data.n else []
