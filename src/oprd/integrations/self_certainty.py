"""Intuitor's self-certainty as a TRL reward function: the policy's confidence, no labels needed.

Self-certainty (Zhao et al., arXiv 2505.19590) of a completion is the mean over its tokens of
``KL(U || p_t) = -log |V| - (1/|V|) sum_j log p_t(j)``, where ``p_t`` is the model's next-token
distribution. TRL hands reward functions text and token ids but no logits, so this reward runs one
no-grad forward of the model it is given over prompt + completion. Pass the model object that the
trainer trains, and the reward follows the current policy, as in Intuitor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from oprd.integrations.completions import completion_text

_POSITIONS_PER_CHUNK = 256


class SelfCertaintyReward:
    """Mean self-certainty of each completion under ``model`` (higher = more confident).

    ``completion_ids`` from TRL are used as they are (the exact sampled tokens); without them the
    completion text is tokenized. Chat prompts are rendered with the tokenizer's chat template and a
    generation prompt, as TRL renders them for generation. ``temperature`` divides the logits (use the
    sampling temperature); an empty completion gets 0.0.
    """

    def __init__(self, model: Any, tokenizer: Any, *, temperature: float = 1.0, batch_size: int = 8,
                 chat_template_kwargs: dict[str, Any] | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.temperature = temperature
        self.batch_size = batch_size
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.__name__ = "oprd_self_certainty"

    def __call__(self, prompts: Sequence[Any] = (), completions: Sequence[Any] = (),
                 completion_ids: Sequence[Sequence[int]] | None = None, **columns: Any) -> list[float]:
        """One reward per completion (TRL keyword call)."""
        prompt_ids = [self._prompt_ids(p) for p in prompts]
        if completion_ids is None:
            completion_ids = [self.tokenizer(completion_text(c, i), add_special_tokens=False)["input_ids"]
                              for i, c in enumerate(completions)]
        pairs = [(list(p), list(c)) for p, c in zip(prompt_ids, completion_ids)]
        rewards: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            rewards.extend(self._batch(pairs[start:start + self.batch_size]))
        return rewards

    def _prompt_ids(self, prompt: Any) -> list[int]:
        if isinstance(prompt, str):
            return list(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        text = self.tokenizer.apply_chat_template(list(prompt), tokenize=False, add_generation_prompt=True,
                                                  **self.chat_template_kwargs)
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _batch(self, pairs: list[tuple[list[int], list[int]]]) -> list[float]:
        import torch

        device = next(self.model.parameters()).device
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        width = max(len(p) + len(c) for p, c in pairs)
        ids = torch.full((len(pairs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(pairs), width), dtype=torch.long)
        for row, (p, c) in enumerate(pairs):
            ids[row, : len(p) + len(c)] = torch.tensor(p + c, dtype=torch.long)
            mask[row, : len(p) + len(c)] = 1
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        finally:
            self.model.train(was_training)
        return [self._certainty(logits[row], len(p), len(c)) for row, (p, c) in enumerate(pairs)]

    def _certainty(self, logits: Any, prompt_len: int, completion_len: int) -> float:
        """Mean KL(U || p_t) over the positions that predict the completion's tokens."""
        if completion_len == 0:
            return 0.0
        first, stop = prompt_len - 1, prompt_len - 1 + completion_len
        total = 0.0
        for lo in range(first, stop, _POSITIONS_PER_CHUNK):
            logp = (logits[lo:min(lo + _POSITIONS_PER_CHUNK, stop)].float() / self.temperature).log_softmax(-1)
            total += float((-math.log(logp.shape[-1]) - logp.mean(-1)).sum())
        return total / completion_len
