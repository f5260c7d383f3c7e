import pytest

from oprd.errors import OprdInputError
from oprd.generation import HFGenerator, SamplingConfig
from oprd.models import build_prompt_ids


@pytest.fixture(scope="module")
def prompts(tiny):
    _, tokenizer = tiny
    return [build_prompt_ids(tokenizer, text) for text in ("1+1", "what is 22 + 33?", "x")]


def test_records_are_prompt_major_and_keep_prompt_ids(tiny, prompts):
    rollouts = HFGenerator(*tiny).generate(prompts, SamplingConfig(max_new_tokens=6, temperature=1.0, n=2))
    assert [(r.prompt_index, r.sample_index) for r in rollouts] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    for rollout in rollouts:
        assert rollout.prompt_ids == prompts[rollout.prompt_index]
        assert 1 <= len(rollout.response_ids) <= 6


def test_greedy_batched_equals_one_by_one(tiny, prompts):
    generator = HFGenerator(*tiny)
    batched = generator.generate(prompts, SamplingConfig(max_new_tokens=8, batch_size=3))
    single = [generator.generate([p], SamplingConfig(max_new_tokens=8, batch_size=1))[0] for p in prompts]
    assert [r.response_ids for r in batched] == [r.response_ids for r in single]


def test_seeded_sampling_is_reproducible_and_seed_sensitive(tiny, prompts):
    generator = HFGenerator(*tiny)
    config = SamplingConfig(max_new_tokens=8, temperature=1.0, n=2, seed=5)
    first = [r.response_ids for r in generator.generate(prompts, config)]
    again = [r.response_ids for r in generator.generate(prompts, config)]
    other = [r.response_ids for r in generator.generate(prompts, SamplingConfig(max_new_tokens=8, temperature=1.0, n=2, seed=6))]
    assert first == again
    assert first != other


def test_stops_at_eos_and_reports_finish_reason(tiny, prompts):
    model, tokenizer = tiny
    eos = tokenizer.eos_token_id
    step = {"n": 0}

    def eos_on_third_token(module, args, output):
        step["n"] += 1
        if step["n"] == 3:  # prefill, 1st new token, then EOS as the 3rd token
            output[..., eos] = 1e4
        return output

    handle = model.lm_head.register_forward_hook(eos_on_third_token)
    try:
        stopped = HFGenerator(model, tokenizer).generate(prompts, SamplingConfig(max_new_tokens=8, batch_size=3))
    finally:
        handle.remove()
    for rollout in stopped:
        assert rollout.finish_reason == "stop" and not rollout.truncated
        assert len(rollout.response_ids) == 3 and rollout.response_ids[-1] == eos
    running = HFGenerator(model, tokenizer).generate(prompts, SamplingConfig(max_new_tokens=4))
    assert all(r.finish_reason == "length" and r.truncated and len(r.response_ids) == 4 for r in running)


@pytest.mark.parametrize("temperature, prompt_seeds", [(1.0, None), (0.7, [4])])
def test_logprobs_match_a_teacher_forced_forward(tiny, prompts, temperature, prompt_seeds):
    import torch

    model, tokenizer = tiny
    rollouts = HFGenerator(model, tokenizer).generate(
        prompts[:1], SamplingConfig(max_new_tokens=5, temperature=temperature, return_logprobs=True, seed=1,
                                    prompt_seeds=prompt_seeds)
    )
    rollout = rollouts[0]
    ids = torch.tensor([rollout.prompt_ids + rollout.response_ids])
    with torch.no_grad():
        logp = (model(ids).logits[0] / temperature).log_softmax(-1)
    start = len(rollout.prompt_ids)
    expected = [float(logp[start - 1 + t, tok]) for t, tok in enumerate(rollout.response_ids)]
    assert rollout.logprobs == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    "kwargs, param",
    [({"max_new_tokens": 0}, "max_new_tokens"), ({"top_p": 0.0}, "top_p"), ({"n": 0}, "n"),
     ({"n": 2, "temperature": 0.0}, "temperature"), ({"batch_size": 0}, "batch_size")],
)
def test_out_of_range_sampling_options_are_rejected(kwargs, param):
    with pytest.raises(OprdInputError, match=f"'{param}' parameter of SamplingConfig"):
        SamplingConfig(**kwargs).validate()


def test_vllm_backend_without_vllm_says_how_to_install(monkeypatch):
    import oprd.generation.vllm_backend as backend

    monkeypatch.setattr(backend, "vllm_available", lambda: False)
    with pytest.raises(OprdInputError, match=r"pip install 'oprd\[vllm\]'"):
        backend.VLLMGenerator("some/model")


def test_prompt_seeds_make_rollouts_independent_of_batch_mates(tiny, prompts):
    generator = HFGenerator(*tiny)
    seeds = [11, 22, 33]
    together = generator.generate(prompts, SamplingConfig(max_new_tokens=8, temperature=1.0, n=2, batch_size=6,
                                                           prompt_seeds=seeds))
    alone = [generator.generate([p], SamplingConfig(max_new_tokens=8, temperature=1.0, n=2, batch_size=1,
                                                    prompt_seeds=[s]))
             for p, s in zip(prompts, seeds)]
    assert [r.response_ids for r in together] == [r.response_ids for group in alone for r in group]
    assert together[0].response_ids != together[1].response_ids  # samples of one prompt have their own streams
    reseeded = generator.generate(prompts, SamplingConfig(max_new_tokens=8, temperature=1.0, n=2, prompt_seeds=[12, 22, 33]))
    assert reseeded[0].response_ids != together[0].response_ids
    assert [r.response_ids for r in reseeded[2:]] == [r.response_ids for r in together[2:]]


def test_prompt_seeds_need_one_seed_per_prompt(tiny, prompts):
    with pytest.raises(OprdInputError, match="prompt_seeds"):
        HFGenerator(*tiny).generate(prompts, SamplingConfig(temperature=1.0, prompt_seeds=[1, 2]))
