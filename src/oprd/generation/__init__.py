"""Rollout backends behind one protocol: Hugging Face generate (always) and vLLM (optional)."""

from oprd.generation.base import Generator, Rollout, SamplingConfig
from oprd.generation.hf import HFGenerator
from oprd.generation.vllm_backend import VLLMGenerator, vllm_available


def make_generator(backend: str, model=None, tokenizer=None, *, model_path: str | None = None, **kwargs) -> Generator:
    """``hf`` wraps a loaded model; ``vllm`` builds an engine from ``model_path``."""
    from oprd.errors import OprdInputError

    if backend == "hf":
        return HFGenerator(model, tokenizer)
    if backend == "vllm":
        return VLLMGenerator(model_path, **kwargs)
    raise OprdInputError(f"unknown generation backend {backend!r}; use hf or vllm")


__all__ = ["Generator", "HFGenerator", "Rollout", "SamplingConfig", "VLLMGenerator", "make_generator", "vllm_available"]
