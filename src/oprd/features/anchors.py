"""Token positions inside prompt+response that features are read at."""

from __future__ import annotations

from dataclasses import dataclass

from oprd.errors import OprdInputError
from oprd.generation.base import Rollout

POSITION_NAMES = (
    "reasoning_start", "reasoning_end", "first_response", "last_response", "last_prompt", "mean_response", "mean_prompt"
)


@dataclass(frozen=True)
class Anchors:
    """Positions of one rollout in the concatenated sequence (0-based)."""

    first_response: int
    last_response: int
    last_prompt: int
    reasoning_start: int
    reasoning_end: int
    response_span: tuple[int, int]
    truncated: bool


def check_positions(names) -> tuple[str, ...]:
    """Validate a list of position names."""
    bad = [name for name in names if name not in POSITION_NAMES]
    if bad or not names:
        raise OprdInputError(f"unknown feature position(s) {bad}; choose from {', '.join(POSITION_NAMES)}")
    return tuple(names)


def find_anchors(
    rollout: Rollout,
    *,
    think_start_id: int | None = None,
    think_end_id: int | None = None,
    start_anchor: str = "first_response",
) -> Anchors:
    """Anchors per the SHIFT spec.

    Thinking models: reasoning runs from ``<think>`` to ``</think>``. Other models: from the first
    generated token to the last one before EOS (``start_anchor="last_prompt_token"`` moves the start
    to the end of the prompt). A response without EOS, or with ``<think>`` but no ``</think>``, ends
    at the last generated token and is flagged truncated.
    """
    if start_anchor not in ("first_response", "last_prompt_token"):
        raise OprdInputError(f"unknown start_anchor {start_anchor!r}; use first_response or last_prompt_token")
    prompt_len = len(rollout.prompt_ids)
    response = rollout.response_ids
    content = len(response) - (1 if rollout.finish_reason == "stop" and response else 0)
    if content > 0:
        first, last = prompt_len, prompt_len + content - 1
    elif response:
        first = last = prompt_len
    else:
        first = last = prompt_len - 1
    span = (first, last + 1)
    start = first if start_anchor == "first_response" else prompt_len - 1
    end = last
    truncated = rollout.finish_reason != "stop"
    if think_start_id is not None and think_start_id in response[:content]:
        start = prompt_len + response.index(think_start_id)
        if think_end_id is not None and think_end_id in response[:content]:
            end = prompt_len + response.index(think_end_id)
        else:
            truncated = True
    return Anchors(first, last, prompt_len - 1, start, end, span, truncated)
