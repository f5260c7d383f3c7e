"""SyncedVLLMGenerator against a real vLLM engine: weights pushed after a training step arrive.

The engine is built from the policy as the trainer builds it (float32, the trainer's default
dtype), so its log-probabilities must equal the HF policy's closely, before and after a step.
"""


import pytest

pytest.importorskip("vllm")

import torch

from oprd.generation import HFGenerator, SamplingConfig
from oprd.models import DEFAULT_MODEL, build_prompt_ids, load_model
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.runtime.vllm_sync import SyncedVLLMGenerator
from tests.helpers.vllm import ENGINE, engine_logprobs, hf_logprobs

pytestmark = pytest.mark.integration
COMPLETION = "The sky looks blue because air molecules scatter short blue wavelengths of sunlight more than red ones."


@pytest.fixture(scope="module")
def policy():
    """A float32 policy of its own (the session's ``builtin`` model must stay unchanged)."""
    return load_model(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def engine(policy, tmp_path_factory):
    model, _ = policy
    config = GRPOConfig(model=DEFAULT_MODEL, out=str(tmp_path_factory.mktemp("train")), generation_backend="vllm")
    generator = SyncedVLLMGenerator(model, config, **ENGINE)
    yield generator
    generator.llm.llm_engine.engine_core.shutdown()


@pytest.fixture(scope="module")
def texts(policy):
    """A prompt longer than one KV block (128 tokens on the CPU backend, so the prefix cache holds
    it) and a fixed completion."""
    _, tokenizer = policy
    prompt = build_prompt_ids(tokenizer, "Explain in two sentences why the sky is blue. " * 12)
    assert len(prompt) > 128
    return prompt, tokenizer.encode(COMPLETION, add_special_tokens=False)


def _training_step(model, prompt: list[int], completion: list[int]) -> None:
    """One AdamW step on the completion's negative log-likelihood, large enough to move every
    log-probability visibly."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    logits = model(torch.tensor([prompt + completion])).logits[0, len(prompt) - 1 : -1]
    loss = -logits.log_softmax(-1).gather(-1, torch.tensor(completion).unsqueeze(-1)).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    model.eval()


def test_engine_starts_from_the_policy(engine, policy, texts):
    model, _ = policy
    gap = (engine_logprobs(engine, *texts) - hf_logprobs(model, *texts)).abs()
    assert gap.max().item() < 1e-3, gap


def test_sync_after_a_training_step_reaches_the_engine(engine, policy, texts):
    model, tokenizer = policy
    prompt, completion = texts
    greedy = SamplingConfig(max_new_tokens=24, return_logprobs=True)
    engine.generate([prompt], greedy)  # fills the prefix cache with the prompt under the old weights
    old = hf_logprobs(model, prompt, completion)
    _training_step(model, prompt, completion)
    new = hf_logprobs(model, prompt, completion)
    assert (new - old).abs().mean().item() > 0.5
    engine.sync_weights()
    synced = engine_logprobs(engine, prompt, completion)
    assert (synced - new).abs().max().item() < 1e-3, (synced - new).abs()
    assert (synced - old).abs().mean().item() > 0.5
    # Rollouts after the sync (prefix cache dropped) are the updated policy's.
    ours = engine.generate([prompt], greedy)[0]
    theirs = HFGenerator(model, tokenizer).generate([prompt], greedy)[0]
    assert ours.response_ids == theirs.response_ids, (ours.text, theirs.text)
    gap = (torch.tensor(ours.logprobs) - hf_logprobs(model, prompt, ours.response_ids)).abs()
    assert gap.max().item() < 1e-3, gap
