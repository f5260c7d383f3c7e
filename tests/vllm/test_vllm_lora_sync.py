"""A LoRA policy's engine holds the merged weights: at start and after a step on the adapters."""


import pytest

pytest.importorskip("vllm")

import torch

from oprd.models import DEFAULT_MODEL, build_prompt_ids, load_model
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.runtime.vllm_sync import SyncedVLLMGenerator
from tests.helpers.vllm import ENGINE, engine_logprobs, hf_logprobs

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lora_policy():
    """The built-in model with rank-8 adapters whose B is random, so the adapters change the outputs."""
    from peft import LoraConfig, get_peft_model

    model, tokenizer = load_model(DEFAULT_MODEL)
    adapted = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear"))
    torch.manual_seed(0)
    for name, param in adapted.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.02)
    return adapted.eval(), tokenizer


@pytest.fixture(scope="module")
def engine(lora_policy, tmp_path_factory):
    model, _ = lora_policy
    config = GRPOConfig(model=DEFAULT_MODEL, out=str(tmp_path_factory.mktemp("lora")), generation_backend="vllm",
                        lora_r=8)
    generator = SyncedVLLMGenerator(model, config, **ENGINE)
    yield generator
    generator.llm.llm_engine.engine_core.shutdown()


def test_the_engine_follows_the_adapted_policy_before_and_after_a_step(engine, lora_policy):
    model, tokenizer = lora_policy
    prompt = build_prompt_ids(tokenizer, "Name three primary colours.")
    completion = tokenizer.encode("Red, blue and yellow are the primary colours.", add_special_tokens=False)
    with model.disable_adapter():
        base = hf_logprobs(model, prompt, completion)
    before = hf_logprobs(model, prompt, completion)
    assert (before - base).abs().mean().item() > 0.05  # the adapters matter
    assert (engine_logprobs(engine, prompt, completion) - before).abs().max().item() < 1e-3
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    logits = model(torch.tensor([prompt + completion])).logits[0, len(prompt) - 1 : -1]
    (-logits.log_softmax(-1).gather(-1, torch.tensor(completion).unsqueeze(-1)).mean()).backward()
    optimizer.step()
    model.eval()
    after = hf_logprobs(model, prompt, completion)
    assert (after - before).abs().mean().item() > 0.05
    engine.sync_weights()
    engine.llm.reset_prefix_cache()
    synced = engine_logprobs(engine, prompt, completion)
    assert (synced - after).abs().max().item() < 1e-3, (synced - after).abs()
