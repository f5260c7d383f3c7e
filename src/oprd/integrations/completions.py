"""Completions as TRL passes them to reward functions: a string, or a list of chat messages.

For conversational prompts TRL passes each completion as ``[{"role": "assistant", "content": ...}]``;
for plain prompts as a string. oprd's rewards accept both and grade the assistant's text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from oprd.errors import OprdInputError


def completion_text(completion: Any, index: int = 0) -> str:
    """The text of one completion: the string itself, or the assistant messages' contents joined."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and all(isinstance(m, Mapping) for m in completion):
        parts = [m.get("content") for m in completion if m.get("role", "assistant") == "assistant"]
        if parts and all(isinstance(p, str) for p in parts):
            return "".join(parts)
    raise OprdInputError(
        f"completions[{index}] is {_describe(completion)}; a reward function gets each completion as a string or, "
        "for chat prompts, as [{'role': 'assistant', 'content': '...'}]: pass completions in one of those forms"
    )


def prompt_key(prompt: Any) -> str:
    """A hashable key of a prompt (string or messages), to group the completions of one prompt."""
    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, ensure_ascii=False, default=str)


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a single message object (a dict), not a list of messages"
    if isinstance(value, Sequence):
        return "a list that is not assistant messages with string content"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
