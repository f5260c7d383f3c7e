"""GeoMin inside the GRPO trainer: majority pseudo-labels, weighted by the hidden-state prior.

Per step (docs/methods/geomin.md, section 6): unlabeled prompts get their majority answer as label
(``after_rollouts``, so their rewards are R(o, m)); after advantages, ``after_advantages`` reads the
hidden-state means the trainer's scoring pass already computed (``batch.hidden``, the same policy
forward that gives old log-probs; GeoMin never runs its own), adds the labeled rollouts (correct =
verifier against gold) to the prior, and multiplies each unlabeled prompt's weight by 1 / pi / 0.
During warm-up unlabeled prompts get weight 0 (labeled-only GRPO).

Under torchrun each rank's prior learns from that rank's rows (as OLR's refiner does); the
checkpoint keeps rank 0's state and every rank resumes from it.
"""

from __future__ import annotations

import math

import numpy as np

from oprd.errors import OprdInputError
from oprd.rlvr.hooks import StepBatch, TrainerHook
from oprd.rlvr.methods.geomin.prior import GeoMinOptions, GeoMinPrior, candidate_layers
from oprd.rlvr.methods.geomin.prior import affinity as pseudo_label_affinity
from oprd.rlvr.methods.geomin.split import RULES
from oprd.rlvr.methods.pseudo_labels import assign_majority
from oprd.verify import AnswerCluster, reward_against


class GeoMinReliability(TrainerHook):
    """The ``--unlabeled-reward geomin`` component (see the module docstring)."""

    name = "geomin"
    order = 20

    def __init__(self, options: GeoMinOptions | None = None) -> None:
        self.options = (options or GeoMinOptions()).validate()
        self.prior: GeoMinPrior | None = None
        self._pending: dict | None = None
        self._clusters: dict[int, AnswerCluster | None] = {}

    def hidden_layers(self, n_layers: int) -> list[int]:
        layers = candidate_layers(n_layers, self.options.layer_stride)
        if self.prior is None or self.prior.layers != layers:
            self.prior = GeoMinPrior(layers, self.options)
            if self._pending:
                self.prior.load_state_dict(self._pending)
                self._pending = None
        return layers

    def after_rollouts(self, batch: StepBatch) -> None:
        self._clusters.update(assign_majority(batch))

    def after_advantages(self, batch: StepBatch) -> None:
        clusters, self._clusters = self._clusters, {}
        if self.prior is None:
            raise RuntimeError("GeoMinReliability.hidden_layers() must run before the first step")
        g = batch.group_size
        features = {layer: batch.hidden[layer].double().numpy() for layer in self.prior.layers}
        rows, correct, groups = [], [], []
        for p in range(batch.n_prompts):
            if batch.gold[p] is not None:
                rows.extend(range(p * g, (p + 1) * g))
                correct.extend(r >= 0.5 for r in reward_against(batch.texts(p), batch.gold[p]))
                groups.extend([p] * g)
        self.prior.update(features, rows, correct, groups)
        unlabeled = [p for p in range(batch.n_prompts) if batch.gold[p] is None]
        weights = {p: 0.0 for p in unlabeled}
        if self.prior.ready:
            weights.update(self._weigh(batch, features, clusters, unlabeled))
        for p, w in weights.items():
            batch.weights[p] = batch.weights[p] * w
        self._log(batch, unlabeled, weights)

    def _weigh(self, batch: StepBatch, features: dict, clusters: dict, unlabeled: list[int]) -> dict[int, float]:
        """Affinity of each pseudo-label, then the split into weights (prompts without majority stay 0)."""
        g = batch.group_size
        scored = [p for p in unlabeled if clusters.get(batch.positions[p]) is not None]
        if not scored:
            return {}
        q = self.prior.probabilities(features)
        affinities = []
        for p in scored:
            in_majority = np.zeros(g, dtype=bool)
            in_majority[clusters[batch.positions[p]].indices] = True
            affinities.append(pseudo_label_affinity(q[p * g : (p + 1) * g], in_majority))
        result = self.prior.weights(affinities)
        batch.metrics["geomin/affinity_mean"] = float(np.mean(affinities))
        batch.metrics["geomin/split_rule"] = float(RULES.index(result.rule))
        return dict(zip(scored, result.weights.tolist()))

    def _log(self, batch: StepBatch, unlabeled: list[int], weights: dict[int, float]) -> None:
        prior = self.prior
        metrics = batch.metrics
        metrics["geomin/warmup"] = float(not prior.ready)
        metrics["geomin/bank_incorrect"], metrics["geomin/bank_correct"] = (float(n) for n in prior.seen)
        if unlabeled:
            values = [weights[p] for p in unlabeled]
            metrics["geomin/kept"] = float(sum(w >= 1.0 for w in values))
            metrics["geomin/downweighted"] = float(sum(0.0 < w < 1.0 for w in values))
            metrics["geomin/dropped"] = float(sum(w == 0.0 for w in values))
            metrics["geomin/mean_weight"] = float(np.mean(values))
        if prior.selection is not None:
            for rank, layer in enumerate(prior.selection.layers, start=1):
                metrics[f"geomin/layer_{rank}"] = float(layer)
                metrics[f"geomin/auroc_{rank}"] = prior.selection.auroc[layer]

    def state_dict(self) -> dict:
        return self.prior.state_dict() if self.prior is not None else dict(self._pending or {})

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        if self.prior is None:
            self._pending = state
        else:
            self.prior.load_state_dict(state)


def build(config, data, options: GeoMinOptions) -> list[TrainerHook]:
    """The GeoMin hook for a run with unlabeled rows; its prior needs labeled ones to learn from."""
    if data.n_labeled == 0:
        need = options.warmup_per_class
        raise OprdInputError(
            f"--unlabeled-reward geomin learns its prior from labeled rows, but {data.source} has none (0 of {data.n} "
            f"rows have an answer); its warm-up needs {need} correct and {need} incorrect labeled rollouts (at group "
            f"size {config.group_size}, at least {math.ceil(need / config.group_size)} labeled prompt visits with "
            "mixed results per class); label some rows, or use --unlabeled-reward ttrl"
        )
    return [GeoMinReliability(options)] if data.n_labeled < data.n else []
