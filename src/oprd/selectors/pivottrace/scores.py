"""One uncertainty per pool row (higher = more uncertain): pivot density or count, or a baseline.

Trajectory scores (pivots, lexical markers, token entropy, self-certainty) are averaged over the K
trajectories of a prompt; ``consistency`` scores the answers of several samples instead.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from oprd.errors import param_error
from oprd.features.model_side import ModelSide
from oprd.generation.base import Rollout
from oprd.selectors.pivottrace.config import PivotTraceConfig
from oprd.selectors.pivottrace.pivots import average_over_trajectories, lexical_score, segment_steps, trace_pivots


def uncertainty_scores(side: ModelSide, config: PivotTraceConfig) -> np.ndarray:
    """One uncertainty per pool row for ``config.score``; a row without a finite score gets the median."""
    if config.score == "consistency":
        return answer_inconsistency(trajectories(side, config, config.consistency_samples), config.consistency_samples)
    per_prompt = average_over_trajectories(trace_scores(side, config, trajectories(side, config), config.score),
                                           config.k)
    finite = np.isfinite(per_prompt)
    return np.where(finite, per_prompt, np.median(per_prompt[finite]) if finite.any() else 0.0)


def trajectories(side: ModelSide, config: PivotTraceConfig, n: int | None = None) -> list[Rollout]:
    """The K (or ``n``) trajectories per prompt at the trajectory temperature."""
    return side.rollouts(range(side.pool.n), n or config.k, config.temperature, config.seed, "trajectories")


def trace_scores(side: ModelSide, config: PivotTraceConfig, rollouts: list[Rollout], score: str) -> np.ndarray:
    """Uncertainty of each single trajectory (NaN where an empty response has no token score)."""
    if score in ("token-entropy", "self-certainty"):
        values = side.token_scores(rollouts)
        chosen = values["token_entropy"] if score == "token-entropy" else -values["self_certainty"]
        return np.asarray(chosen, dtype=np.float64)
    tokenizer = side.tokenizer()
    breaks = [side.line_breaks(_content_ids(r)) for r in rollouts]
    if score == "lexical":
        return np.array([_lexical(tokenizer, _content_ids(r), flags, config.min_step_tokens, config.reflection_markers)
                         for r, flags in zip(rollouts, breaks)])
    if score not in ("density", "count"):
        raise param_error("score", "trace_scores", "one of 'density', 'count', 'lexical', 'token-entropy', "
                          "'self-certainty'", score)
    pivots = config.pivots()
    signals = side.signals(rollouts, layers=config.attention_layers, window=config.window, n_sink=config.n_sink,
                           chunk=config.chunk, variant=config.variant, batch_size=config.attention_batch_size)
    return np.array([trace_pivots(s[: len(flags)], flags, pivots).score(score) for s, flags in zip(signals, breaks)])


def answer_inconsistency(rollouts: list[Rollout], n: int) -> np.ndarray:
    """1 - (largest equivalent-answer cluster / samples) per prompt; answerless samples agree with none."""
    from oprd.verify import cluster_answers, extract_answer

    answers = [extract_answer(r.text) for r in rollouts]
    values = []
    for start in range(0, len(answers), n):
        clusters = cluster_answers(answers[start : start + n])
        values.append(1.0 - (clusters[0].size if clusters else 0) / n)
    return np.asarray(values, dtype=np.float64)


def _content_ids(rollout: Rollout) -> list[int]:
    """Response tokens without the final EOS."""
    return rollout.response_ids[:-1] if rollout.finish_reason == "stop" else rollout.response_ids


def _lexical(tokenizer, ids: list[int], flags: list[bool], min_tokens: int, markers: Sequence[str]) -> float:
    """Reflection markers per step, on the same steps the pivot detector uses."""
    steps = segment_steps(flags, min_tokens)
    return lexical_score([tokenizer.decode(ids[a:b]) for a, b in steps], markers)
