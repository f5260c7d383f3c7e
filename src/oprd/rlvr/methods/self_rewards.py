"""Label-free self-rewards for unlabeled prompts: self-certainty (Intuitor) and negative entropy.

Published definitions
  * self-certainty (Zhao et al., "Learning to Reason without External Rewards", arXiv 2505.19590):
    ``(1/|o|) sum_t KL(U || p_t) = (1/|o|) sum_t [-log |V| - (1/|V|) sum_j log p_t(j)]``, the mean
    KL divergence from the uniform distribution over the vocabulary to the policy's next-token
    distribution at each response position; GRPO normalises it within each group.
  * entropy (RENT, Prabhudesai et al. 2025, "Maximizing Confidence Alone Improves Reasoning";
    also the token-level EM-RL of Agarwal et al. 2025): reward = minus the mean token entropy
    ``-(1/|o|) sum_t H(p_t)``.
Both are computed exactly from the full next-token distributions at the training temperature.
Deviations: RENT also studies entropy over only the final tokens; we use all response tokens
(``docs/methods/geomin.md``). Labeled prompts keep the verifier reward against gold (semi-supervised use;
the papers train on unlabeled data only), so with ``scale="batch"`` the two reward scales share
one standard deviation.

Where the distributions come from, and why: both rewards need the whole next-token distribution
at every response position. The generator only returns the sampled token's log-prob (vLLM returns
top-k), which gives at most a Monte-Carlo estimate of the entropy and nothing for self-certainty.
The trainer's own policy forwards (the scoring pass and the loss) run after the advantages, while
rewards are needed before them (dynamic sampling, batch-scale std, reward logs); moving them
would restructure the step. So the component runs one no-grad teacher-forced pass over the
*unlabeled* rollouts at reward time, through the trainer's own ``TokenBatch`` and
``policy_forward`` (the wrapped policy's forward, LM head only on response positions). With the default
``ppo_epochs=1`` the trainer runs no scoring pass, so this is the only extra forward either way.
The trainer calls it through one hook, ``after_rewards(batch, model, pad_id)``, right after
the reward functions.
"""

from __future__ import annotations

from typing import Sequence

from oprd.generation.base import Rollout
from oprd.rlvr.hooks import StepBatch, TrainerHook

SELF_REWARDS = ("self-certainty", "entropy")
_POSITIONS_PER_CHUNK = 512


def token_confidence(model, rollouts: Sequence[Rollout], pad_id: int, *, temperature: float = 1.0,
                     micro_batch_size: int = 8) -> tuple[list[float], list[float]]:
    """Per rollout: mean self-certainty ``KL(U || p_t)`` and mean negative entropy ``-H(p_t)``.

    Rollouts with an empty response get 0.0 for both.
    """
    import torch

    from oprd.features.token_scores import entropy, self_certainty
    from oprd.rlvr.policy import TokenBatch, policy_forward

    certainty: list[float] = []
    negative_entropy: list[float] = []
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(rollouts), micro_batch_size):
            part = list(rollouts[start : start + micro_batch_size])
            tokens = TokenBatch.from_rollouts(part, pad_id, device)
            logits = policy_forward(model, tokens, temperature=temperature, logits=True).logits
            where = tokens.mask.bool().nonzero()
            states = logits[where[:, 0], where[:, 1]]  # (tokens, V) at response positions only
            kl_sum = torch.zeros(len(part), dtype=torch.float64, device=device)
            entropy_sum = torch.zeros(len(part), dtype=torch.float64, device=device)
            for first in range(0, states.shape[0], _POSITIONS_PER_CHUNK):
                logp = torch.log_softmax(states[first : first + _POSITIONS_PER_CHUNK] / temperature, dim=-1)
                rows = where[first : first + _POSITIONS_PER_CHUNK, 0]
                kl_sum.index_add_(0, rows, self_certainty(logp).double())
                entropy_sum.index_add_(0, rows, entropy(logp).double())
            counts = tokens.mask.sum(dim=1).double().clamp(min=1.0)
            certainty.extend((kl_sum / counts).tolist())
            negative_entropy.extend((-entropy_sum / counts).tolist())
    return certainty, negative_entropy


class SelfReward(TrainerHook):
    """``--unlabeled-reward self-certainty | entropy``: unlabeled rollouts rewarded by the policy's confidence."""

    name = "self_reward"
    order = 20

    def __init__(self, kind: str, *, temperature: float = 1.0, micro_batch_size: int = 8) -> None:
        if kind not in SELF_REWARDS:
            raise ValueError(f"kind must be one of {', '.join(SELF_REWARDS)}; got {kind!r}")
        self.kind = kind
        self.temperature = temperature
        self.micro_batch_size = micro_batch_size

    def after_rewards(self, batch: StepBatch, model, pad_id: int) -> None:
        """Replace the unlabeled rows' rewards with the self-reward and train them (weight 1)."""
        import torch

        g = batch.group_size
        unlabeled = [p for p in range(batch.n_prompts) if batch.gold[p] is None]
        if not unlabeled:
            return
        rollouts = [rollout for p in unlabeled for rollout in batch.group(p)]
        certainty, negative_entropy = token_confidence(model, rollouts, pad_id, temperature=self.temperature,
                                                       micro_batch_size=self.micro_batch_size)
        values = certainty if self.kind == "self-certainty" else negative_entropy
        for k, p in enumerate(unlabeled):
            batch.rewards[p * g : (p + 1) * g] = torch.tensor(values[k * g : (k + 1) * g], dtype=batch.rewards.dtype)
            batch.weights[p] = 1.0
        batch.metrics[f"unlabeled/{self.kind}_mean"] = sum(values) / len(values)


def build(config, data, options: None) -> list[TrainerHook]:
    """The self-reward hook (``config.unlabeled_reward`` names which) for a run with unlabeled rows."""
    if data.n_labeled == data.n:
        return []
    return [SelfReward(config.unlabeled_reward, temperature=config.temperature, micro_batch_size=config.micro_batch_size)]
