"""Turn a pool prompt (a string or chat messages) into token ids through the chat template."""

from __future__ import annotations

from typing import Any

DEFAULT_REASONING_TEMPLATE = "{prompt}\nPlease reason step by step, and put your final answer within \\boxed{}."


def to_messages(prompt: str | list[dict[str, Any]], template: str = DEFAULT_REASONING_TEMPLATE) -> list[dict[str, Any]]:
    """String prompts are wrapped by ``template`` into one user turn (``{prompt}`` is replaced by a
    plain substitution, so other braces such as ``\\boxed{}`` need no escaping); chat messages are
    used as given, since their author already chose the instruction."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": template.replace("{prompt}", prompt)}]
    return list(prompt)


def build_prompt_ids(
    tokenizer,
    prompt: str | list[dict[str, Any]],
    *,
    template: str = DEFAULT_REASONING_TEMPLATE,
    system_prompt: str | None = None,
    chat_template_kwargs: dict[str, Any] | None = None,
) -> list[int]:
    """Token ids of the chat-formatted prompt, ending with the assistant generation header.

    ``system_prompt`` is prepended unless the prompt has a system message; ``chat_template_kwargs``
    go to the chat template (e.g. ``enable_thinking=False`` for Qwen3). Tokenizers without a chat
    template get the plain templated text.
    """
    messages = to_messages(prompt, template)
    if system_prompt and messages[0].get("role") != "system":
        messages = [{"role": "system", "content": system_prompt}, *messages]
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                             **(chat_template_kwargs or {}))
    else:
        text = "\n\n".join(str(m["content"]) for m in messages) + "\n\n"
    return tokenizer(text, add_special_tokens=False)["input_ids"]
