"""Give a teacher with another tokenizer the student's rollout in its own tokens.

As the released code does: decode the student's response, re-encode it with the teacher's
tokenizer after the teacher's own chat-formatted prompt, and pair positions by suffix index (the
last k tokens on each side); there is no character-level alignment.
"""

from __future__ import annotations

from typing import Any

from oprd.generation.base import Rollout
from oprd.models.chat import DEFAULT_REASONING_TEMPLATE, build_prompt_ids


def same_tokenizer(first, second) -> bool:
    """True when both tokenizers map every token to the same id (token ids can be shared)."""
    return first is second or first.get_vocab() == second.get_vocab()


def teacher_sequence(rollout: Rollout, prompt: Any, teacher_tokenizer, *,
                     template: str = DEFAULT_REASONING_TEMPLATE) -> tuple[list[int], list[int]]:
    """``(prompt_ids, response_ids)`` of ``rollout`` for the teacher.

    A response that ended with EOS ends with the teacher's EOS too, so the last positions of both
    sides are the end-of-answer token.
    """
    prompt_ids = build_prompt_ids(teacher_tokenizer, prompt, template=template)
    response_ids = teacher_tokenizer(rollout.text, add_special_tokens=False)["input_ids"]
    if rollout.finish_reason == "stop" and teacher_tokenizer.eos_token_id is not None:
        response_ids = [*response_ids, teacher_tokenizer.eos_token_id]
    return prompt_ids, response_ids
