"""OLR: online label refinement for noisy labels (``docs/methods/olr.md``), and the label-noise simulation.

Early in training, accuracy against the true answer rises on prompts with wrong labels about as fast
as on clean ones, so a prompt's own majority answer becomes a usable replacement label once its
majority pass rate has been rising and the majority has been the same answer most of the time.
:class:`OnlineLabelRefiner` keeps that per-prompt history and decides the training label at each
visit; the stored label is never overwritten.

The noise half makes experiments and tests possible: :func:`corrupt_rows` writes noisy labels while
keeping the truth in ``original_answer``, :func:`active_noise_label` draws the per-visit wrong label of
active noise, and :func:`noise_metrics` scores what the training labels were.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oprd.data.keys import MISSING, assign, lookup
from oprd.errors import OprdInputError, param_error
from oprd.verify import majority_cluster
from oprd.verify import cluster_answers, is_equivalent

NOISY_LABEL = "<oprd-noisy-label>"
"""The inactive-noise label: the verifier matches it to nothing but itself, so no rollout earns a reward."""
NOISE_MODES = ("inactive", "active")
_STATE_VERSION = 1
_SLOPE_TOLERANCE = 1e-12  # slope >= delta is non-strict; this absorbs float rounding in the OLS sums


@dataclass(frozen=True)
class OLRDecision:
    """What one visit decided, for metrics and debugging.

    ``majority``/``pass_rate``: this visit's m and p. ``slope``: OLS slope of the pass-rate history used.
    ``consistent``: the history's unique most frequent majority is equivalent to m (evaluated only while
    refinement is active, False before). ``active``: past the start epoch (or ``min_visits``).
    ``replaced``: the label is a policy majority (this visit's, or a kept sticky one), not the stored one.
    """

    label: str | None
    majority: str | None
    pass_rate: float
    slope: float
    consistent: bool
    active: bool
    replaced: bool
    visits: int


@dataclass
class _History:
    majorities: list[str | None]
    pass_rates: list[float]
    replacement: str | None = None


class OnlineLabelRefiner:
    """Decide each visit's training label from the prompt's history of majority answers and pass rates.

    Parameters (defaults from the released runs):
      delta: the pass-rate slope (per visit) at or above which the majority may replace the label.
      start_epoch: refinement runs only when ``epoch > start_epoch`` (0-based epochs; 4 of 10 means from the 6th).
      window: use only the last ``window`` visits for the slope and the consistency check (default: all) [O].
      sticky: once a replacement was made, keep it on later visits where the condition fails [O].
      min_visits: step-based schedule: refine once a prompt has at least this many visits (this one
        included), instead of the epoch rule [O].
    """

    def __init__(self, delta: float = 0.05, start_epoch: int = 4, window: int | None = None, sticky: bool = False,
                 min_visits: int | None = None) -> None:
        owner = "OnlineLabelRefiner"
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not math.isfinite(delta):
            raise param_error("delta", owner, "a finite float", delta)
        if not _is_int(start_epoch) or start_epoch < -1:
            raise param_error("start_epoch", owner, "an int >= -1 (-1 refines from the first epoch)", start_epoch)
        if window is not None and (not _is_int(window) or window < 2):
            raise param_error("window", owner, "None or an int >= 2 (a slope needs two points)", window)
        if min_visits is not None and (not _is_int(min_visits) or min_visits < 1):
            raise param_error("min_visits", owner, "None or an int >= 1", min_visits)
        if not isinstance(sticky, bool):
            raise param_error("sticky", owner, "a bool", sticky)
        self.delta = float(delta)
        self.start_epoch = start_epoch
        self.window = window
        self.sticky = sticky
        self.min_visits = min_visits
        self._histories: dict[str, _History] = {}
        self._last: dict[str, OLRDecision] = {}

    def observe(self, prompt_id: str, answers: Sequence[str | None], epoch: int, stored: str | None) -> str | None:
        """Record one visit of ``prompt_id`` and return the label to train with now.

        ``answers`` are the extracted final answers of this visit's K rollouts (None where none was found);
        ``stored`` is the label as given (maybe noisy). The majority m is the unique largest equivalence
        cluster (NONE on ties) and p the share of the K answers in it. Returns ``stored`` unless the
        refinement condition holds (or a sticky replacement exists).
        """
        key = str(prompt_id)
        history = self._histories.setdefault(key, _History([], []))
        cluster = majority_cluster(answers)
        majority = cluster.answer if cluster is not None else None
        pass_rate = cluster.size / len(answers) if cluster is not None else 0.0
        history.majorities.append(majority)
        history.pass_rates.append(pass_rate)
        recent = slice(-self.window, None) if self.window else slice(None)
        slope = ols_slope(history.pass_rates[recent])
        visits = len(history.majorities)
        active = visits >= self.min_visits if self.min_visits is not None else epoch > self.start_epoch
        consistent = False
        if active and majority is not None:
            mode = most_frequent_answer(history.majorities[recent])
            consistent = mode is not None and is_equivalent(majority, mode)
        if active and consistent and slope >= self.delta - _SLOPE_TOLERANCE:
            label, replaced = majority, True
            if self.sticky:
                history.replacement = majority
        elif history.replacement is not None:
            label, replaced = history.replacement, True
        else:
            label, replaced = stored, False
        self._last[key] = OLRDecision(label, majority, pass_rate, slope, consistent, active, replaced, visits)
        return label

    def last_decision(self, prompt_id: str) -> OLRDecision | None:
        """The details of the latest :meth:`observe` of ``prompt_id`` in this process (None if none yet)."""
        return self._last.get(str(prompt_id))

    def history(self, prompt_id: str) -> tuple[list[str | None], list[float]]:
        """Copies of ``(H_m, H_p)`` for ``prompt_id`` (empty lists if never visited)."""
        found = self._histories.get(str(prompt_id), _History([], []))
        return list(found.majorities), list(found.pass_rates)

    def schedule_warning(self, n_epochs: int) -> str | None:
        """A warning line when the epoch rule can never fire within ``n_epochs`` epochs (else None)."""
        if self.min_visits is None and self.start_epoch >= n_epochs - 1:
            return (f"OLR start_epoch={self.start_epoch} but training covers only {n_epochs} epoch(s) "
                    f"(0..{n_epochs - 1}): refinement never runs; lower start_epoch or train longer")
        return None

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (histories and sticky replacements) for trainer checkpoints."""
        return {
            "version": _STATE_VERSION,
            "prompts": {
                key: {"majorities": list(h.majorities), "pass_rates": list(h.pass_rates), "replacement": h.replacement}
                for key, h in self._histories.items()
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (after a JSON round trip), replacing current histories."""
        if not isinstance(state, Mapping) or state.get("version") != _STATE_VERSION:
            raise OprdInputError(
                f"OLR state has version {state.get('version') if isinstance(state, Mapping) else None!r}, "
                f"expected {_STATE_VERSION}; resume from a checkpoint written by this oprd version"
            )
        histories: dict[str, _History] = {}
        for key, entry in state.get("prompts", {}).items():
            try:
                history = _History(list(entry["majorities"]), [float(p) for p in entry["pass_rates"]],
                                   entry.get("replacement"))
            except (KeyError, TypeError, ValueError, AttributeError):
                history = None
            if history is None or len(history.majorities) != len(history.pass_rates):
                raise OprdInputError(f"OLR state for prompt {key!r} is malformed (it needs equally long 'majorities' "
                                     "and 'pass_rates' lists); the checkpoint is corrupt, resume from another one")
            histories[str(key)] = history
        self._histories = histories
        self._last = {}


def ols_slope(values: Sequence[float]) -> float:
    """Ordinary least-squares slope of ``values`` against 0, 1, ..., n-1 (0.0 for fewer than 2 points)."""
    n = len(values)
    if n < 2:
        return 0.0
    x_mean = (n - 1) / 2
    y_mean = math.fsum(values) / n
    covariance = math.fsum((x - x_mean) * (y - y_mean) for x, y in enumerate(values))
    variance = math.fsum((x - x_mean) ** 2 for x in range(n))
    return covariance / variance


def most_frequent_answer(history: Sequence[str | None]) -> str | None:
    """The unique most frequent entry of a majority history under verifier equivalence.

    NONE (None, a tied visit) is an entry like any other: if it is the most frequent, or the top count
    is shared, the result is None.
    """
    counts: list[tuple[int, str | None]] = [(c.size, c.answer) for c in cluster_answers(history)]
    n_none = sum(1 for answer in history if answer is None or not answer.strip())
    if n_none:
        counts.append((n_none, None))
    if not counts:
        return None
    top = max(size for size, _ in counts)
    winners = [answer for size, answer in counts if size == top]
    return winners[0] if len(winners) == 1 else None


def validate_noise(rho: float, mode: str, owner: str) -> None:
    """Reject a noise rate outside [0, 1] or an unknown mode, naming ``owner`` in the message."""
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0.0 <= rho <= 1.0:
        raise param_error("rho", owner, "a float in [0, 1]", rho)
    if mode not in NOISE_MODES:
        raise param_error("mode", owner, f"one of {', '.join(NOISE_MODES)}", mode)


def corrupt_rows(rows: Sequence[Mapping[str, Any]], rho: float, mode: str = "inactive", seed: int = 0,
                 answer_key: str = "answer") -> list[dict[str, Any]]:
    """Copies of ``rows`` where a share ``rho`` of the labeled rows carry a noisy label.

    ``round(rho * n_labeled)`` labeled rows, drawn with ``seed``, get the :data:`NOISY_LABEL` sentinel at
    ``answer_key`` (dotted keys reach nested fields). Every labeled row gains ``original_answer`` (the true
    label) and ``noise`` (``"inactive"`` / ``"active"`` on noisy rows, None on clean ones); unlabeled rows
    are copied unchanged. Active noise keeps the sentinel in the file: the trainer draws the wrong label
    per visit with :func:`active_noise_label`. The input rows are never modified.
    """
    validate_noise(rho, mode, "corrupt_rows")
    labeled = [i for i, row in enumerate(rows) if _has_answer(lookup(row, answer_key))]
    if not labeled:
        raise OprdInputError(
            f"no row has an answer under {answer_key!r}, so there are no labels to corrupt; "
            "pass --answer-key naming the final-answer column"
        )
    already = next((i for i in labeled if "original_answer" in rows[i] or "noise" in rows[i]), None)
    if already is not None:
        raise OprdInputError(
            f"row index {already} already has an 'original_answer' or 'noise' field: the pool looks corrupted "
            "already; corrupt the clean pool instead"
        )
    noisy = set(random.Random(seed).sample(labeled, math.floor(rho * len(labeled) + 0.5)))
    out = [copy.deepcopy(dict(row)) for row in rows]
    for index in labeled:
        row = out[index]
        row["original_answer"] = lookup(row, answer_key)
        row["noise"] = mode if index in noisy else None
        if index in noisy:
            assign(row, answer_key, NOISY_LABEL)
    return out


def active_noise_label(group_answers: Sequence[str | None], true_answer: str, rng: random.Random) -> str:
    """Active noise for one visit: a wrong answer drawn uniformly from the distinct wrong answers in the
    group (equivalent answers count once); :data:`NOISY_LABEL` when the group has none."""
    wrong = [c.answer for c in cluster_answers(group_answers) if not is_equivalent(c.answer, true_answer)]
    return wrong[rng.randrange(len(wrong))] if wrong else NOISY_LABEL


def noise_metrics(labels: Sequence[str | None], true_answers: Sequence[str], noisy: Sequence[bool],
                  accuracies: Sequence[float] | None = None) -> dict[str, float]:
    """Per-step label-noise metrics over the prompts of a batch.

    ``labels``: the training label each prompt used; ``true_answers``: ``original_answer``; ``noisy``: whether
    the stored label is noisy; ``accuracies``: each prompt's rollout accuracy against its true answer.
    Returns ``noisy_label_correct`` (share of noisy prompts trained with the true answer),
    ``clean_wrongly_replaced`` (share of clean prompts trained with a label that is not the true answer),
    ``accuracy_noisy`` / ``accuracy_clean`` (mean accuracy vs the truth) and the counts ``n_noisy`` /
    ``n_clean``; a share over an empty subset is left out rather than reported as NaN.
    """
    aligned = len(labels) == len(true_answers) == len(noisy)
    if not aligned or (accuracies is not None and len(accuracies) != len(labels)):
        raise ValueError("noise_metrics: labels, true_answers, noisy (and accuracies) must have one entry per prompt")
    correct = [is_equivalent(label, truth) for label, truth in zip(labels, true_answers)]
    metrics: dict[str, float] = {}
    for subset, flag in (("noisy", True), ("clean", False)):
        members = [i for i, is_noisy in enumerate(noisy) if bool(is_noisy) is flag]
        metrics[f"n_{subset}"] = float(len(members))
        if not members:
            continue
        share_correct = sum(correct[i] for i in members) / len(members)
        if flag:
            metrics["noisy_label_correct"] = share_correct
        else:
            metrics["clean_wrongly_replaced"] = 1.0 - share_correct
        if accuracies is not None:
            metrics[f"accuracy_{subset}"] = math.fsum(accuracies[i] for i in members) / len(members)
    return metrics


def _has_answer(value: Any) -> bool:
    """A label is present: not missing, null or NaN (the pool loader's definition of unlabeled)."""
    return value is not MISSING and value is not None and not (isinstance(value, float) and math.isnan(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
