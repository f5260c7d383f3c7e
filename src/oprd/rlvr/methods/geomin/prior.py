"""GeoMin: a hidden-state prior that judges whether an unlabeled prompt's pseudo-label is reliable.

From labeled rollouts it learns how the (centred, unit-normalised) hidden states of correct and
incorrect rollouts are distributed: one von Mises-Fisher model per class and candidate layer.
Layers are ranked by how well their log-likelihood ratio separates the classes (AUROC); the kept
layers' standardised ratios are averaged into a rollout score, calibrated to ``q = P(correct)``
with a logistic (Platt) fit. A pseudo-label's affinity is high when its majority rollouts look
correct and its minority rollouts look incorrect; a 2-component mixture over affinities turns them
into weights 1 / pi / 0 (:mod:`oprd.rlvr.methods.geomin.split`). User doc: ``docs/methods/geomin.md``.

Tags as in the user doc: [M] published outline, [O] our default (every one a :class:`GeoMinOptions` field).
Our choices beyond the spec text, each marked [O] below:

* the class statistics may be stale in their centring: a rollout's unit vector is taken with the
  running centre of its own step and kept in the decayed sums (recomputing would need every past
  feature vector);
* "the labeled bank" used for the layer AUROC and the Platt fit is a FIFO of the last
  ``score_bank_steps`` steps of labeled rollouts' per-layer LLRs, each scored by the class models
  *before* its own step was added (prequential). Scoring the rollouts the models were fitted on
  would be in-sample: in d = 576 with tens of points every layer separates its own training points;
* warm-up counts every labeled rollout added so far (not the decayed count, which would cap at
  ``per-step count / (1 - decay)`` and could keep small batches in warm-up for ever);
* the Platt fit uses sklearn's ``LogisticRegression(C=1.0)``: the mild L2 keeps ``(a, b)`` finite when
  the bank is separable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from oprd.errors import param_error
from oprd.rlvr.methods.geomin.split import ReliabilitySplit, SplitResult
from oprd.rlvr.methods.geomin.vmf import fit_vmf, unit_rows, vmf_from_stats, vmf_log_density

__all__ = ["GeoMinOptions", "GeoMinPrior", "Selection", "affinity", "candidate_layers", "fit_vmf",
           "vmf_log_density"]

STATS_MODES = ("decay", "fifo")


@dataclass
class GeoMinOptions:
    """Every GeoMin knob; a run sets them as ``--geomin-<knob>`` (YAML ``geomin_<knob>``).

    stats: decay | fifo, how old labeled rollouts fade from the class models [O]; decay (0.9 per
      step) multiplies the statistics each step, fifo keeps the last ``fifo_steps`` steps.
    boundary_only: fit only on labeled prompts whose group is mixed (0 < pass rate < 1) [O].
    layer_stride / top_layers: candidates are every ``layer_stride``-th hidden-state index plus the
      last; keep the ``top_layers`` with the highest AUROC [M outline, O numbers].
    calibrate: fit q = sigmoid(a s + b) by logistic regression; False uses a = 1, b = 0 [O].
    score_bank_steps: steps of prequentially scored labeled rollouts for AUROC and Platt [O].
    warmup_per_class: labeled-only until each class has this many rollouts [O].
    gmm_history / min_gmm_points / keep_posterior / drop_posterior: the split (geomin_split) [O].
    seed: random state of the Gaussian mixture (the split is deterministic).
    """

    stats: str = "decay"
    decay: float = 0.9
    fifo_steps: int = 4
    boundary_only: bool = True
    layer_stride: int = 4
    top_layers: int = 3
    calibrate: bool = True
    score_bank_steps: int = 8
    warmup_per_class: int = 64
    gmm_history: int = 4
    min_gmm_points: int = 32
    keep_posterior: float = 0.9
    drop_posterior: float = 0.5
    seed: int = 0

    def validate(self) -> "GeoMinOptions":
        owner = "GeoMinOptions"
        if self.stats not in STATS_MODES:
            raise param_error("stats", owner, "decay or fifo", self.stats)
        if not 0.0 < self.decay <= 1.0:
            raise param_error("decay", owner, "a float in (0, 1]", self.decay)
        for name in ("fifo_steps", "layer_stride", "top_layers", "score_bank_steps", "min_gmm_points"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise param_error(name, owner, "an int >= 1", value)
        for name in ("warmup_per_class", "gmm_history"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise param_error(name, owner, "an int >= 0", value)
        if not 0.0 <= self.drop_posterior <= self.keep_posterior <= 1.0:
            raise param_error("drop_posterior", owner, "a float with 0 <= drop_posterior <= keep_posterior <= 1",
                              self.drop_posterior)
        return self


def candidate_layers(n_layers: int, stride: int = 4) -> list[int]:
    """Hidden-state indices to consider: every ``stride``-th layer and the last (index ``n_layers``)."""
    return sorted(set(range(stride, n_layers + 1, stride)) | {n_layers})


def affinity(q, in_majority) -> float:
    """How well a pseudo-label agrees with the prior (spec §4).

    ``A = (mean q over majority rollouts + mean (1 - q) over the rest) / 2``; with no minority
    rollouts, ``A = mean q over the majority``. Unparsable rollouts belong to the minority.
    """
    q = np.asarray(q, dtype=np.float64)
    majority = np.asarray(in_majority, dtype=bool)
    if not majority.any():
        raise ValueError("affinity needs at least one rollout in the majority")
    agree = float(q[majority].mean())
    if majority.all():
        return agree
    return 0.5 * (agree + float((1.0 - q[~majority]).mean()))


@dataclass
class Selection:
    """The kept layers, their LLR standardisation on the bank, the Platt parameters and every AUROC."""

    layers: list[int]
    mean: list[float]
    std: list[float]
    a: float = 1.0
    b: float = 0.0
    auroc: dict[int, float] = field(default_factory=dict)


class GeoMinPrior:
    """Per-layer vMF class models with running centring, layer choice, calibration and the split.

    Numbers in, numbers out: ``features`` are ``{layer: (n_rollouts, d) array}`` of raw hidden-state
    means; the caller says which rows are labeled and whether each was correct.
    """

    def __init__(self, layers: Sequence[int], options: GeoMinOptions | None = None) -> None:
        self.options = (options or GeoMinOptions()).validate()
        self.layers = sorted(int(layer) for layer in layers)
        if not self.layers:
            raise ValueError("GeoMinPrior needs at least one candidate layer")
        self.centre_sum: dict[int, np.ndarray] = {}
        self.centre_count = 0.0
        self.count: dict[int, np.ndarray] = {}
        self.resultant: dict[int, np.ndarray] = {}
        self.window: deque[dict[int, tuple[np.ndarray, np.ndarray]]] = deque(maxlen=self.options.fifo_steps)
        self.seen = np.zeros(2, dtype=np.int64)
        self.bank: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=self.options.score_bank_steps)
        self.selection: Selection | None = None
        self.splitter = ReliabilitySplit(history=self.options.gmm_history, min_points=self.options.min_gmm_points,
                                         keep=self.options.keep_posterior, drop=self.options.drop_posterior,
                                         seed=self.options.seed)
        self._models: dict[int, list[tuple[np.ndarray, float]]] = {}

    # ------------------------------------------------------------------------------------ learning
    @property
    def ready(self) -> bool:
        """Warm-up is over: each class has ``warmup_per_class`` rollouts and a layer choice exists."""
        return bool(self.seen.min() >= self.options.warmup_per_class and self.selection is not None)

    def update(self, features: Mapping[int, np.ndarray], labeled_rows, correct, groups) -> None:
        """One training step: centre on all rollouts, score then add the labeled ones, re-choose layers.

        ``labeled_rows`` index rows of ``features``; ``correct`` (bool) and ``groups`` (prompt ids)
        are aligned with them. With ``boundary_only`` only rows of mixed groups are used.
        """
        self._update_centre(features)
        rows = np.asarray(labeled_rows, dtype=np.int64)
        correct = np.asarray(correct, dtype=bool)
        if self.options.boundary_only and rows.size:
            keep = _mixed_groups(correct, np.asarray(groups))
            rows, correct = rows[keep], correct[keep]
        z = {layer: self.unit_features(features[layer][rows], layer) for layer in self.layers}
        if rows.size and self._models:
            llr = np.stack([self._llr(z[layer], layer) for layer in self.layers], axis=1)
            self.bank.append((llr, correct.copy()))
        self._add(z, correct)
        self.seen += np.array([(~correct).sum(), correct.sum()], dtype=np.int64)
        self._choose_layers()

    def _update_centre(self, features: Mapping[int, np.ndarray]) -> None:
        """Add every rollout of the step to the running mean ``c_l`` of each layer."""
        for layer in self.layers:
            block = np.asarray(features[layer], dtype=np.float64)
            self.centre_sum[layer] = self.centre_sum.get(layer, 0.0) + block.sum(axis=0)
        self.centre_count += float(np.asarray(features[self.layers[0]]).shape[0])

    def unit_features(self, raw: np.ndarray, layer: int) -> np.ndarray:
        """``(h - c_l) / ||h - c_l||`` with the running centre of layer ``layer``."""
        raw = np.atleast_2d(np.asarray(raw, dtype=np.float64))
        centre = self.centre_sum[layer] / max(self.centre_count, 1.0) if layer in self.centre_sum else 0.0
        return unit_rows(raw - centre)

    def _add(self, z: Mapping[int, np.ndarray], correct: np.ndarray) -> None:
        """Fold this step's rollouts into the class statistics (decay or window), refresh the models."""
        counts = np.array([(~correct).sum(), correct.sum()], dtype=np.float64)
        step = {layer: (counts, np.stack([z[layer][~correct].sum(axis=0), z[layer][correct].sum(axis=0)]))
                for layer in self.layers}
        if self.options.stats == "fifo":
            self.window.append(step)
            for layer in self.layers:
                self.count[layer] = sum(entry[layer][0] for entry in self.window)
                self.resultant[layer] = sum(entry[layer][1] for entry in self.window)
        else:
            decay = self.options.decay
            for layer, (new_counts, new_sums) in step.items():
                self.count[layer] = self.count.get(layer, 0.0) * decay + new_counts
                self.resultant[layer] = self.resultant.get(layer, 0.0) * decay + new_sums
        self._refresh_models()

    def _refresh_models(self) -> None:
        """(mu, kappa) per class and layer; only once both classes have data."""
        self._models = {}
        for layer in self.layers:
            counts, sums = self.count.get(layer), self.resultant.get(layer)
            if counts is None or counts.min() <= 0:
                return
            self._models[layer] = [vmf_from_stats(sums[c], float(counts[c])) for c in (0, 1)]

    def _llr(self, z: np.ndarray, layer: int) -> np.ndarray:
        """``log f(z; correct) - log f(z; incorrect)`` at ``layer``."""
        (mu_neg, k_neg), (mu_pos, k_pos) = self._models[layer]
        return vmf_log_density(z, mu_pos, k_pos) - vmf_log_density(z, mu_neg, k_neg)

    def _choose_layers(self) -> None:
        """Rank layers by AUROC on the bank, standardise the kept ones, fit Platt (needs both classes)."""
        from sklearn.metrics import roc_auc_score

        if not self.bank:
            return
        llr = np.concatenate([entry[0] for entry in self.bank])
        correct = np.concatenate([entry[1] for entry in self.bank])
        if correct.all() or not correct.any():
            return
        auroc = {layer: float(roc_auc_score(correct, llr[:, j])) for j, layer in enumerate(self.layers)}
        ranked = sorted(self.layers, key=lambda layer: (-auroc[layer], -layer))[: self.options.top_layers]
        columns = [self.layers.index(layer) for layer in ranked]
        mean = llr[:, columns].mean(axis=0)
        std = llr[:, columns].std(axis=0)
        std = np.where(std > 0, std, 1.0)
        selection = Selection(ranked, mean.tolist(), std.tolist(), auroc=auroc)
        if self.options.calibrate:
            from sklearn.linear_model import LogisticRegression

            scores = ((llr[:, columns] - mean) / std).mean(axis=1)
            platt = LogisticRegression(C=1.0).fit(scores[:, None], correct.astype(int))
            selection.a, selection.b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
        self.selection = selection

    # ------------------------------------------------------------------------------------- scoring
    def scores(self, features: Mapping[int, np.ndarray]) -> np.ndarray:
        """``s(o)``: the mean standardised LLR over the kept layers, one per row of ``features``."""
        if self.selection is None or not self._models:
            raise RuntimeError("GeoMinPrior has no layer choice yet; call update() until ready")
        parts = []
        for layer, mean, std in zip(self.selection.layers, self.selection.mean, self.selection.std):
            parts.append((self._llr(self.unit_features(features[layer], layer), layer) - mean) / std)
        return np.mean(parts, axis=0)

    def probabilities(self, features: Mapping[int, np.ndarray]) -> np.ndarray:
        """``q(o) = sigmoid(a s + b)``: how likely each rollout is correct, per the prior."""
        logits = self.scores(features) * self.selection.a + self.selection.b
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -500.0, 500.0)))

    def weights(self, affinities) -> SplitResult:
        """Training weights of this step's unlabeled prompts from their affinities (and the FIFO)."""
        return self.splitter.split(affinities)

    # ------------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """JSON-safe state (lists, floats), enough to resume exactly."""
        return {
            "options": asdict(self.options),
            "layers": list(self.layers),
            "centre_sum": [self.centre_sum[layer].tolist() if layer in self.centre_sum else None
                           for layer in self.layers],
            "centre_count": self.centre_count,
            "count": [self.count[layer].tolist() if layer in self.count else None for layer in self.layers],
            "resultant": [self.resultant[layer].tolist() if layer in self.resultant else None for layer in self.layers],
            "window": [[[step[layer][0].tolist(), step[layer][1].tolist()] for layer in self.layers]
                       for step in self.window],
            "seen": self.seen.tolist(),
            "bank": [[llr.tolist(), correct.tolist()] for llr, correct in self.bank],
            "selection": None if self.selection is None else {
                **asdict(self.selection), "auroc": [[k, v] for k, v in self.selection.auroc.items()]},
            "split": self.splitter.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        if [int(layer) for layer in state["layers"]] != self.layers:
            raise ValueError(f"GeoMin state is for layers {state['layers']}, this model's candidates are {self.layers}")

        def arrays(values):
            return {layer: np.asarray(v, dtype=np.float64) for layer, v in zip(self.layers, values) if v is not None}

        self.centre_sum = arrays(state["centre_sum"])
        self.centre_count = float(state["centre_count"])
        self.count = arrays(state["count"])
        self.resultant = {layer: r.reshape(2, -1) for layer, r in arrays(state["resultant"]).items()}
        self.window = deque(({layer: (np.asarray(c, dtype=np.float64), np.asarray(s, dtype=np.float64).reshape(2, -1))
                              for layer, (c, s) in zip(self.layers, step)} for step in state["window"]),
                            maxlen=self.options.fifo_steps)
        self.seen = np.asarray(state["seen"], dtype=np.int64)
        self.bank = deque(((np.asarray(llr, dtype=np.float64).reshape(-1, len(self.layers)), np.asarray(c, dtype=bool))
                           for llr, c in state["bank"]), maxlen=self.options.score_bank_steps)
        chosen = state["selection"]
        self.selection = None if chosen is None else Selection(
            [int(x) for x in chosen["layers"]], chosen["mean"], chosen["std"], chosen["a"], chosen["b"],
            {int(k): float(v) for k, v in chosen["auroc"]})
        self.splitter.load_state_dict(state["split"])
        self._refresh_models()


def _mixed_groups(correct: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """True for rows whose group has both correct and incorrect rollouts."""
    keep = np.zeros(correct.shape, dtype=bool)
    for group in np.unique(groups):
        members = groups == group
        rate = correct[members].mean()
        keep[members] = 0.0 < rate < 1.0
    return keep

