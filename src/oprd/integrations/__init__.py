"""oprd's rewards inside the trainers users keep: TRL reward functions and a verl ``compute_score``.

- TRL (``GRPOTrainer(reward_funcs=[...])``): :data:`verifier_reward` / :class:`VerifierReward` (oprd's
  grader against a gold column), :data:`majority_vote_reward` / :class:`MajorityVoteReward` (TTRL:
  agreement with the majority answer of the prompt's group, no labels), :class:`SelfCertaintyReward`
  (Intuitor: the policy's mean KL(uniform || p) over the completion, no labels),
  :class:`RefinedVerifierReward` (OLR: the verifier against labels refined online from the policy's
  own majority answers, for noisy gold columns).
- verl (``custom_reward_function.path`` = :mod:`oprd.integrations.verl`, ``name=compute_score``).

Importing this package loads neither TRL nor verl; both are optional.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "VerifierReward": "oprd.integrations.trl_rewards",
    "verifier_reward": "oprd.integrations.trl_rewards",
    "MajorityVoteReward": "oprd.integrations.trl_rewards",
    "majority_vote_reward": "oprd.integrations.trl_rewards",
    "RefinedVerifierReward": "oprd.integrations.trl_rewards",
    "SelfCertaintyReward": "oprd.integrations.self_certainty",
    "completion_text": "oprd.integrations.completions",
    "compute_score": "oprd.integrations.verl",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'oprd.integrations' has no attribute {name!r}")
