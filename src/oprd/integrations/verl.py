"""oprd's verifier as a verl reward: ``custom_reward_function.path=<this file>``, ``name=compute_score``.

verl's reward managers call ``compute_score(data_source=..., solution_str=..., ground_truth=...,
extra_info=...)`` per response (newer versions add keywords, accepted and ignored here) and take a float.
The grader is oprd's (``docs/grader.md``), so verl scores answers as ``oprd-train`` and ``oprd eval`` do.
This module imports nothing from verl; verl loads it by file path, so it works from an installed oprd.
"""

from __future__ import annotations

from typing import Any

from oprd.verify import GraderOptions, default_options, grade


def compute_score(data_source: str | None, solution_str: str, ground_truth: Any,
                  extra_info: dict[str, Any] | None = None, *, options: GraderOptions | None = None,
                  **kwargs: Any) -> float:
    """1.0 when the response's final answer equals ``ground_truth``, else 0.0 (never raises).

    ``ground_truth`` may be a string, a number or a list of accepted answers (any one counts). A row
    without gold, or a gold the grader cannot read, scores 0.0: verl needs a number for every response.
    """
    options = options or default_options()
    golds = ground_truth if isinstance(ground_truth, (list, tuple)) else [ground_truth]
    for gold in golds:
        if gold is None:
            continue
        if grade(solution_str, str(gold), options) == 1.0:
            return 1.0
    return 0.0


def compute_score_last_number(data_source: str | None, solution_str: str, ground_truth: Any,
                              extra_info: dict[str, Any] | None = None, **kwargs: Any) -> float:
    """:func:`compute_score` with ``last-number`` extraction: the box, else the last number standing on its own.

    For GSM8K-style prompts that ask for the answer after ``####`` rather than in ``\\boxed{}``
    (``custom_reward_function.name=compute_score_last_number``).
    """
    return compute_score(data_source, solution_str, ground_truth, extra_info,
                         options=GraderOptions(answer_extraction="last-number"), **kwargs)
