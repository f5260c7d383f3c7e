"""A model's context length, and the check that every prompt plus its rollout fits in it.

A prompt longer than the context runs in transformers with one warning and garbage positions; a
rollout of ``max_new_tokens`` after a long prompt runs past it the same way. Both are refused up
front, naming the rows, before any model weights load.
"""

from __future__ import annotations

from collections.abc import Sequence

from oprd.errors import OprdInputError

_CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx")


def context_length(resolved_path: str, *, trust_remote_code: bool = False) -> int | None:
    """The model's position limit from its config (None when the config states none)."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(resolved_path, trust_remote_code=trust_remote_code)
    except Exception:  # the model loader reports a broken config with its own one-line message
        return None
    for candidate in (config, getattr(config, "text_config", None)):
        for key in _CONTEXT_KEYS:
            value = getattr(candidate, key, None) if candidate is not None else None
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


def check_prompt_lengths(prompt_ids: Sequence[Sequence[int]], ids: Sequence[str], *, context: int | None,
                         max_new_tokens: int, source: str, flag: str = "--max-new-tokens") -> None:
    """Refuse rows whose prompt tokens plus ``max_new_tokens`` exceed ``context`` (one line, worst row named)."""
    if context is None:
        return
    if max_new_tokens >= context:
        raise OprdInputError(
            f"{flag} {max_new_tokens} leaves no room for a prompt in the model's context of {context} tokens; "
            f"lower {flag} below {context}"
        )
    too_long = [(len(p), row_id) for p, row_id in zip(prompt_ids, ids) if len(p) + max_new_tokens > context]
    if not too_long:
        return
    longest, row_id = max(too_long)
    raise OprdInputError(
        f"{source}: {len(too_long)} prompt(s) do not fit the model's context of {context} tokens with {flag} "
        f"{max_new_tokens} (longest: id {row_id!r}, {longest} prompt tokens); shorten or remove those rows, or lower "
        f"{flag} to at most {context - longest}" if longest < context else
        f"{source}: {len(too_long)} prompt(s) do not fit the model's context of {context} tokens (longest: id "
        f"{row_id!r}, {longest} prompt tokens); shorten or remove those rows"
    )


def pool_prompt_ids(prompts: Sequence, ids: Sequence[str], tokenizer, resolved_path: str, *, template: str,
                    max_new_tokens: int, source: str, trust_remote_code: bool = False, system_prompt: str | None = None,
                    chat_template_kwargs: dict | None = None) -> list[list[int]]:
    """Token ids of every prompt as the model will see them, after checking they fit its context."""
    from oprd.models.chat import build_prompt_ids

    prompt_ids = [build_prompt_ids(tokenizer, prompt, template=template, system_prompt=system_prompt,
                                   chat_template_kwargs=chat_template_kwargs) for prompt in prompts]
    check_prompt_lengths(prompt_ids, ids, context=context_length(resolved_path, trust_remote_code=trust_remote_code),
                         max_new_tokens=max_new_tokens, source=source)
    return prompt_ids
