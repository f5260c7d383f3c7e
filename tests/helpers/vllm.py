"""Shared by the vLLM tests: engine settings and log-probabilities of a fixed
completion under the HF policy and under the engine."""

from __future__ import annotations

import torch

# Small enough for the CPU backend next to the HF policy; eager so no graph capture is needed.
ENGINE = dict(enforce_eager=True, max_model_len=512, kv_cache_memory_bytes=256 << 20)


def digit_share(prompts, completions, **columns):
    """A reward that varies within every group, so each GRPO step moves the policy."""
    return [sum(ch.isdigit() for ch in text) / max(len(text), 1) for text in completions]


def hf_logprobs(model, prompt: list[int], completion: list[int]) -> torch.Tensor:
    with torch.no_grad():
        logits = model(torch.tensor([prompt + completion])).logits[0, len(prompt) - 1 : -1].float()
    return logits.log_softmax(-1).gather(-1, torch.tensor(completion).unsqueeze(-1)).squeeze(-1)


def engine_logprobs(generator, prompt: list[int], completion: list[int]) -> torch.Tensor:
    """The engine's log-probabilities of a fixed completion, read as prompt log-probabilities."""
    from vllm import SamplingParams

    ids = prompt + completion
    output = generator.llm.generate([{"prompt_token_ids": ids}], SamplingParams(max_tokens=1, prompt_logprobs=0),
                                    use_tqdm=False)[0]
    return torch.tensor([output.prompt_logprobs[i][ids[i]].logprob for i in range(len(prompt), len(ids))])
