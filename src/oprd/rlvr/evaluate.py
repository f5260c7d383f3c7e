"""Held-out evaluation with the verifier: greedy pass@1, avg@k and pass@k over k samples."""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from oprd.errors import OprdInputError
from oprd.generation.base import SamplingConfig
from oprd.models.chat import DEFAULT_REASONING_TEMPLATE


@dataclass
class EvalResult:
    """Accuracy figures in [0, 1] over the labeled rows of an eval file."""

    n: int
    k: int
    pass_at_1: float
    avg_at_k: float
    pass_at_k: float
    greedy_correct: list[bool]
    sample_correct: list[list[bool]]

    def as_dict(self) -> dict:
        """``pass@1`` is the greedy figure; the sampled ``pass@k`` is listed only for k > 1 (at k = 1 it
        equals ``avg@1`` and would overwrite the greedy ``pass@1``)."""
        figures = {"n": self.n, "k": self.k, "pass@1": self.pass_at_1, f"avg@{self.k}": self.avg_at_k}
        if self.k > 1:
            figures[f"pass@{self.k}"] = self.pass_at_k
        return figures


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al. 2021)."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def evaluate(
    generator,
    tokenizer,
    pool,
    *,
    k: int = 8,
    max_new_tokens: int = 512,
    temperature: float = 1.0,
    batch_size: int = 8,
    seed: int = 0,
    template: str = DEFAULT_REASONING_TEMPLATE,
    progress=None,
    system_prompt: str | None = None,
    chat_template_kwargs: dict | None = None,
) -> EvalResult:
    """pass@1 = accuracy of the greedy answer; avg@k = mean accuracy of k samples at ``temperature``."""
    from oprd.models.chat import build_prompt_ids
    from oprd.verify import reward_against

    labeled = [i for i in range(pool.n) if pool.answers[i] is not None]
    if not labeled:
        raise OprdInputError(f"{pool.path} has no rows with answers; evaluation needs labeled rows")
    if k < 1:
        raise OprdInputError(f"--k must be >= 1, got {k}")
    prompts = [build_prompt_ids(tokenizer, pool.prompts[i], template=template, system_prompt=system_prompt,
                                chat_template_kwargs=chat_template_kwargs) for i in labeled]
    greedy = generator.generate(prompts, SamplingConfig(max_new_tokens=max_new_tokens, batch_size=batch_size,
                                                        seed=seed), progress=progress)
    samples = generator.generate(prompts, SamplingConfig(max_new_tokens=max_new_tokens, temperature=temperature, n=k,
                                                         batch_size=batch_size, seed=seed), progress=progress)
    greedy_correct, sample_correct = [], []
    for j, row in enumerate(labeled):
        gold = pool.answers[row]
        greedy_correct.append(reward_against([greedy[j].text], gold)[0] > 0)
        sample_correct.append([r > 0 for r in reward_against([s.text for s in samples[j * k : (j + 1) * k]], gold)])
    counts = np.array([sum(c) for c in sample_correct])
    return EvalResult(
        n=len(labeled),
        k=k,
        pass_at_1=float(np.mean(greedy_correct)),
        avg_at_k=float(counts.mean() / k),
        pass_at_k=float(np.mean([pass_at_k(k, int(c), k) for c in counts])),
        greedy_correct=greedy_correct,
        sample_correct=sample_correct,
    )
