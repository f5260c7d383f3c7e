"""Synthetic step batches for the unlabeled-reward and semi-supervised tests."""

from __future__ import annotations

from oprd.generation.base import Rollout
from oprd.rlvr.hooks import StepBatch


def make_batch(groups: list[list[str]], gold: list[str | None], *, ids: list[str] | None = None,
               epochs: list[int] | None = None, positions: list[int] | None = None) -> StepBatch:
    """One prompt per entry of ``groups`` (its completions' texts), labeled where ``gold`` is not None."""
    n = len(groups)
    g = len(groups[0])
    rollouts = [Rollout(prompt_index=p, sample_index=s, prompt_ids=[1, 2], response_ids=[3, 4], text=text,
                        finish_reason="stop") for p, texts in enumerate(groups) for s, text in enumerate(texts)]
    batch = StepBatch(rows=list(range(n)), ids=ids or [f"q{p}" for p in range(n)], epochs=epochs or [0] * n,
                      prompts=["p"] * n, gold=list(gold), rollouts=rollouts, group_size=g,
                      positions=positions or list(range(n)))
    batch.labels = list(batch.gold)
    batch.weights = [1.0] * n
    return batch


def boxed(*answers) -> list[str]:
    return [f"so \\boxed{{{a}}}" for a in answers]
