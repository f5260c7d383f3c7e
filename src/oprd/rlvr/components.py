"""The seams of the trainer: step records and the component hooks GeoMin, OLR and OPRD plug into.

A step flows: sample prompts -> rollouts -> ``assign_labels`` (which label each prompt trains with
this visit) -> rewards -> advantages -> ``shape_advantages`` (per-prompt weights) -> loss, plus each
component's ``extra_loss`` on the same micro-batches, read from the policy forward that computes
the loss (a component asks for hidden states or full logits in that forward through
``forward_needs``; it never runs the policy itself). Components keep their own state and hand it
to checkpoints through ``state_dict``/``load_state_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oprd.generation.base import Rollout


@dataclass
class StepBatch:
    """One step's prompts and rollouts (prompt-major: G rollouts per prompt, contiguous).

    ``positions`` are the prompts' places in the global batch (all ranks together); they order
    rewards and advantages identically in one process and under torchrun.
    """

    rows: list[int]
    ids: list[str]
    epochs: list[int]
    prompts: list[Any]
    gold: list[str | None]
    rollouts: list[Rollout]
    group_size: int
    positions: list[int] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    rewards: Any = None
    reward_columns: dict[str, list[float]] = field(default_factory=dict)
    advantages: Any = None
    hidden: dict[int, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def n_prompts(self) -> int:
        return len(self.rows)

    def group(self, prompt: int) -> list[Rollout]:
        """The G rollouts of prompt number ``prompt`` in this batch."""
        return self.rollouts[prompt * self.group_size : (prompt + 1) * self.group_size]

    def texts(self, prompt: int) -> list[str]:
        return [r.text for r in self.group(prompt)]


@dataclass
class MicroBatch:
    """What an ``extra_loss`` sees: the rollouts of one micro-batch and the policy's outputs on them
    (``rlvr.policy.PolicyOutputs``: log-probs, and hidden states / logits where asked), with gradient."""

    rollouts: list[Rollout]
    token_batch: Any
    outputs: Any


class StepComponent:
    """Base class with no-op hooks; subclasses override what they need."""

    name = "component"

    def hidden_layers(self, n_layers: int) -> list[int]:
        """``hidden_states`` indices this component wants (mean over response tokens) each step."""
        return []

    def forward_needs(self) -> set[str]:
        """What ``extra_loss`` reads from the loss forward: ``logprobs`` (there anyway when rewards
        train), ``hidden_states``, ``logits``."""
        return set()

    def assign_labels(self, batch: StepBatch) -> None:
        """Change ``batch.labels`` (one per prompt) before rewards are computed."""

    def shape_advantages(self, batch: StepBatch) -> None:
        """Change ``batch.weights`` (one per prompt, 0 drops the group) after advantages."""

    def extra_loss(self, micro: MicroBatch):
        """An extra loss term on this micro-batch: ``(loss_tensor, {metric: float})`` or None."""
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None


class MajorityVoteLabels(StepComponent):
    """TTRL: an unlabeled prompt trains with the majority answer of its own group (None on ties)."""

    name = "ttrl"

    def assign_labels(self, batch: StepBatch) -> None:
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
