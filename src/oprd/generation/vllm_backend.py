"""Rollouts with vLLM (optional extra ``oprd[vllm]``), same records as the HF backend."""

from __future__ import annotations

from typing import Sequence

from oprd.errors import OprdInputError
from oprd.generation.base import Progress, Rollout, SamplingConfig


def vllm_available() -> bool:
    """True when the ``vllm`` package can be imported."""
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


class VLLMGenerator:
    """Generate with a ``vllm.LLM`` engine built from a model directory or given ready-made.

    ``gpu_memory_utilization`` defaults low (0.3) so the engine can share a GPU (or, on vLLM's CPU
    backend, the machine's RAM) with training; ``engine_kwargs`` go to ``vllm.LLM`` as they are.
    ``trust_remote_code`` is always passed explicitly (default off), so custom model code runs in the
    engine only when the caller's own trust flag says so.
    """

    def __init__(self, model_path: str | None = None, *, llm=None, dtype: str = "auto", seed: int = 0,
                 gpu_memory_utilization: float = 0.3, trust_remote_code: bool = False, **engine_kwargs) -> None:
        if not vllm_available():
            raise OprdInputError(
                "the vLLM backend needs the vllm package, which is not installed; "
                "install it with `pip install 'oprd[vllm]'` or use --generation-backend hf"
            )
        if llm is None:
            from vllm import LLM

            if model_path is None:
                raise OprdInputError("VLLMGenerator needs a model path or a ready vllm.LLM")
            # On the CPU backend gpu_memory_utilization is the fraction of RAM the engine reserves
            # (vLLM's own default, 0.92, fails beside a training process), so it is passed there too.
            # Log-probabilities are taken after temperature and top-p, as the HF backend's are.
            kwargs = dict(model=model_path, dtype=dtype, seed=seed, gpu_memory_utilization=gpu_memory_utilization,
                          logprobs_mode="processed_logprobs", trust_remote_code=bool(trust_remote_code))
            llm = LLM(**{**kwargs, **engine_kwargs})
        self.llm = llm
        self.tokenizer = llm.get_tokenizer()

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, *, progress: Progress | None = None
    ) -> list[Rollout]:
        from vllm import SamplingParams

        sampling.validate()
        sampling.check_prompt_seeds(len(prompts))
        seeds = sampling.prompt_seeds if sampling.prompt_seeds is not None else [sampling.seed] * len(prompts)
        params = [  # a seeded request draws from its own generator, whatever else shares the engine step
            SamplingParams(
                n=sampling.n,
                temperature=sampling.temperature,
                top_p=sampling.top_p if sampling.temperature > 0 else 1.0,
                max_tokens=sampling.max_new_tokens,
                seed=int(seed),
                logprobs=0 if sampling.return_logprobs else None,
                stop_token_ids=list(sampling.stop_token_ids) or None,
            )
            for seed in seeds
        ]
        requests = [{"prompt_token_ids": list(ids)} for ids in prompts]
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        rollouts = []
        for prompt_index, (ids, output) in enumerate(zip(prompts, outputs)):
            for sample_index, completion in enumerate(output.outputs):
                rollouts.append(
                    Rollout(
                        prompt_index=prompt_index,
                        sample_index=sample_index,
                        prompt_ids=list(ids),
                        response_ids=list(completion.token_ids),
                        text=self.tokenizer.decode(list(completion.token_ids), skip_special_tokens=True),
                        finish_reason="stop" if completion.finish_reason == "stop" else "length",
                        logprobs=_chosen_logprobs(completion) if sampling.return_logprobs else None,
                    )
                )
            if progress:
                progress(len(output.outputs))
        return rollouts


def _chosen_logprobs(completion) -> list[float]:
    """vLLM returns a dict per position; keep the log-probability of the sampled token."""
    return [step[token].logprob for token, step in zip(completion.token_ids, completion.logprobs or [])]
