"""Which features each selection method reads, and how it turns them into a ranking.

This is the only place that joins the model side (``oprd.features``) with the array-only
selectors: a method spec names the extraction it needs and builds its selector's input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from oprd.errors import OprdInputError

EMBEDDINGS = ("phi", "prompt", "minilm")


@dataclass(frozen=True)
class MethodSpec:
    """A selection method: its extraction needs and its ranking direction."""

    name: str
    help: str
    needs_model: bool = True
    token_scores: bool = False
    answer_samples: bool = False
    score: str | None = None
    descending: bool = True


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec("shift", "SHIFT: quality-weighted farthest-first on reasoning-induced hidden-state shift"),
        MethodSpec("random", "seeded uniform random subset", needs_model=False),
        MethodSpec("utility", "top-B by SHIFT utility q = log(1 + ||e - s||), no coverage"),
        MethodSpec("kcenter", "unweighted farthest-first (k-center greedy) on an embedding"),
        MethodSpec("kmeans", "k-means with k = B, the member nearest each centroid"),
        MethodSpec("qppl", "question perplexity, high first", token_scores=True, score="qppl"),
        MethodSpec("appl", "perplexity of the greedy answer, high first", token_scores=True, score="appl"),
        MethodSpec("sc-entropy", "entropy of R sampled final answers, high first", answer_samples=True, score="sc_entropy"),
        MethodSpec("token-entropy", "mean next-token entropy over the greedy answer, high first", token_scores=True,
                   score="token_entropy"),
        MethodSpec("self-certainty", "mean KL(uniform || p_t), low (uncertain) first", token_scores=True,
                   score="self_certainty", descending=False),
    )
}


def shift_inputs(states: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end states (layer-averaged) for SHIFT."""
    return states["reasoning_start"], states["reasoning_end"]


def embedding_for(name: str, states: dict[str, np.ndarray], texts_fn: Callable[[], list[str]]) -> np.ndarray:
    """The embedding kcenter/kmeans run in: SHIFT's phi, the mean-pooled prompt state, or MiniLM."""
    from oprd.selectors.shift import shift_features

    if name == "phi":
        return shift_features(*shift_inputs(states))[0]
    if name == "prompt":
        return states["mean_prompt"]
    if name == "minilm":
        from oprd.selectors.sentence_embedding import minilm_embed

        return minilm_embed(texts_fn())
    raise OprdInputError(f"unknown embedding {name!r}; choose from {', '.join(EMBEDDINGS)}")
