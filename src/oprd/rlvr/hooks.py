"""The seams of the trainer: step records and the hooks GeoMin, OLR, TTRL, OPRD and user code plug into.

A step runs these hooks, each at one point, in this order:

1. ``after_rollouts(batch)``: the rollouts exist; set ``batch.labels`` (the label each prompt
   trains with this visit: majority votes, refined labels). Rewards are computed next.
2. ``after_rewards(batch, policy, pad_id)``: the reward functions have scored; replace rewards
   (label-free self-rewards read the policy's token distributions through ``policy``, the wrapped
   policy module, under no_grad).
3. ``after_advantages(batch)``: group advantages exist; set ``batch.weights`` (one per prompt, 0
   drops the group), read ``batch.hidden`` (response means of the layers ``hidden_layers`` asked for).
4. ``loss_term(micro)``: for every micro-batch, an extra loss term from the outputs of the one
   policy forward that computes the GRPO loss (``forward_needs`` says which outputs beyond
   log-probs it reads); the hook never runs the policy itself.

Within each point hooks run by ``order`` (lower first), then in the order they were given: the
built-in method hooks take 10 (label sources), 20 (unlabeled-reward methods) and 30 (losses), a
user's hook 50 unless it says otherwise, and the pseudo-label audit 90, after every label change.
Hooks keep their own state and hand it to checkpoints through ``state_dict``/``load_state_dict``.
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
    """What an ``loss_term`` sees: the rollouts of one micro-batch and the policy's outputs on them
    (``rlvr.policy.PolicyOutputs``: log-probs, and hidden states / logits where asked), with gradient."""

    rollouts: list[Rollout]
    token_batch: Any
    outputs: Any


class TrainerHook:
    """Base class with no-op hooks (see the module docstring for when each runs); subclasses
    override what they need and set ``name`` (metrics and checkpoint key) and ``order``."""

    name = "hook"
    order = 50

    def hidden_layers(self, n_layers: int) -> list[int]:
        """``hidden_states`` indices this hook wants (mean over response tokens) each step."""
        return []

    def forward_needs(self) -> set[str]:
        """What ``loss_term`` reads from the loss forward: ``logprobs`` (there anyway when rewards
        train), ``hidden_states``, ``logits``."""
        return set()

    def after_rollouts(self, batch: StepBatch) -> None:
        """Change ``batch.labels`` (one per prompt) before rewards are computed."""

    def after_rewards(self, batch: StepBatch, policy, pad_id: int) -> None:
        """Change ``batch.rewards`` after the reward functions (``policy``: the wrapped policy module)."""

    def after_advantages(self, batch: StepBatch) -> None:
        """Change ``batch.weights`` (one per prompt, 0 drops the group) after advantages."""

    def loss_term(self, micro: MicroBatch):
        """An extra loss term on this micro-batch: ``(loss_tensor, {metric: float})`` or None."""
        return None

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None
