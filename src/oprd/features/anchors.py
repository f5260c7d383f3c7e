"""Token positions inside prompt+response that features are read at."""

from __future__ import annotations

from dataclasses import dataclass

from oprd.errors import OprdInputError
from oprd.generation.base import Rollout

OPEN_THINK_TAIL = 3  # prompt tokens a template may put after an opening <think> (a newline or two)

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

    Thinking models: reasoning runs from ``<think>`` to ``</think>``. The ``<think>`` is either
    generated, or opened by the chat template at the end of the prompt (R1-distilled and Qwen3
    thinking models); then t_s is that prompt token (the last one when the template ends with
    ``<think>``). Other models: from the first generated token to the last one before EOS
    (``start_anchor="last_prompt_token"`` moves the start to the end of the prompt). A response
    without EOS, or inside an open ``<think>`` with no ``</think>``, ends at the last generated token
    and is flagged truncated.
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
    opened = _open_think(rollout.prompt_ids, think_start_id, think_end_id)
    if opened is None and think_start_id is not None and think_start_id in response[:content]:
        opened = prompt_len + response.index(think_start_id)
    if opened is not None:
        start = opened
        after = max(opened - prompt_len + 1, 0)  # where a closing </think> may appear in the response
        body = response[after:content]
        if think_end_id is not None and think_end_id in body:
            end = prompt_len + after + body.index(think_end_id)
        else:
            truncated = True
    return Anchors(first, last, prompt_len - 1, start, end, span, truncated)


def _open_think(prompt_ids, think_start_id: int | None, think_end_id: int | None) -> int | None:
    """Position of a ``<think>`` the chat template left open at the end of the prompt, else None.

    Open means: a ``<think>`` among the last ``OPEN_THINK_TAIL`` prompt tokens (templates end with
    ``<think>`` or ``<think>\\n``) with no ``</think>`` after it. The empty closed block Qwen3 writes
    with thinking turned off is not open, nor is a ``<think>`` earlier in the conversation.
    """
    if think_start_id is None:
        return None
    tail = list(prompt_ids[-OPEN_THINK_TAIL:])
    if think_start_id not in tail:
        return None
    position = len(prompt_ids) - 1 - tail[::-1].index(think_start_id)
    if think_end_id is not None and think_end_id in prompt_ids[position:]:
        return None
    return position
