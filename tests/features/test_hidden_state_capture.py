import numpy as np
import pytest
import torch

from oprd.errors import OprdInputError
from oprd.features import CaptureConfig, capture_features, find_anchors, resolve_layers
from oprd.generation import HFGenerator, Rollout, SamplingConfig
from oprd.models import build_prompt_ids


@pytest.fixture(scope="module")
def rollouts(tiny):
    model, tokenizer = tiny
    prompts = [build_prompt_ids(tokenizer, t) for t in ("1+1", "what is 22 + 33?", "x", "a longer question here")]
    return HFGenerator(model, tokenizer).generate(prompts, SamplingConfig(max_new_tokens=10, temperature=1.0, seed=3))


def _plain_hidden_states(model, rollout):
    ids = torch.tensor([rollout.prompt_ids + rollout.response_ids])
    with torch.no_grad():
        return torch.stack(model(ids, output_hidden_states=True).hidden_states)[:, 0].numpy()


def test_capture_equals_plain_forward_at_every_layer_and_position(tiny, rollouts):
    model, tokenizer = tiny
    positions = ("reasoning_start", "reasoning_end", "last_prompt", "mean_response", "mean_prompt")
    config = CaptureConfig(layers=[0, 1, 2], positions=positions, reduce_layers="none", batch_size=3)
    captured = capture_features(model, tokenizer, rollouts, config)
    for i, rollout in enumerate(rollouts):
        full = _plain_hidden_states(model, rollout)  # (layers + 1, tokens, d)
        p = len(rollout.prompt_ids)
        content = len(rollout.response_ids) - (rollout.finish_reason == "stop")
        expected = {
            "reasoning_start": full[:, p],
            "reasoning_end": full[:, p + content - 1],
            "last_prompt": full[:, p - 1],
            "mean_response": full[:, p : p + content].mean(axis=1),
            "mean_prompt": full[:, :p].mean(axis=1),
        }
        for name in positions:
            np.testing.assert_allclose(captured.states[name][i], expected[name], rtol=1e-5, atol=1e-5)


def test_layer_mean_and_last_k(tiny, rollouts):
    model, tokenizer = tiny
    per_layer = capture_features(model, tokenizer, rollouts, CaptureConfig(layers="all", reduce_layers="none"))
    mean = capture_features(model, tokenizer, rollouts, CaptureConfig(layers="all"))
    assert per_layer.layers == [1, 2]
    np.testing.assert_allclose(mean.states["reasoning_end"], per_layer.states["reasoning_end"].mean(axis=1), atol=1e-6)
    last = capture_features(model, tokenizer, rollouts, CaptureConfig(layers="last_k:1"))
    np.testing.assert_allclose(last.states["reasoning_start"], per_layer.states["reasoning_start"][:, 1], atol=1e-6)


def test_stops_after_the_deepest_needed_layer(tiny, rollouts):
    model, tokenizer = tiny
    calls = []
    handle = model.model.layers[1].register_forward_hook(lambda *a: calls.append(1))
    try:
        capture_features(model, tokenizer, rollouts, CaptureConfig(layers=[1]))
    finally:
        handle.remove()
    assert calls == []


def test_lm_head_not_called_without_token_scores(tiny, rollouts):
    model, tokenizer = tiny
    calls = []
    handle = model.lm_head.register_forward_hook(lambda *a: calls.append(1))
    try:
        capture_features(model, tokenizer, rollouts, CaptureConfig())
    finally:
        handle.remove()
    assert calls == []


def test_token_scores_match_full_logits(tiny, rollouts):
    model, tokenizer = tiny
    captured = capture_features(model, tokenizer, rollouts, CaptureConfig(with_token_scores=True, batch_size=2))
    for i, rollout in enumerate(rollouts):
        ids = torch.tensor([rollout.prompt_ids + rollout.response_ids])
        with torch.no_grad():
            logp = model(ids).logits[0].float().log_softmax(-1)
        p, r = len(rollout.prompt_ids), len(rollout.response_ids)
        step = logp[p - 1 : p - 1 + r]
        nll = -step.gather(-1, ids[0, p:].unsqueeze(-1)).mean()
        qnll = -logp[: p - 1].gather(-1, ids[0, 1:p].unsqueeze(-1)).mean()
        entropy = -(step.exp() * step).sum(-1).mean()
        certainty = (-np.log(step.shape[-1]) - step.mean(-1)).mean()
        assert captured.scores["appl"][i] == pytest.approx(float(nll.exp()), rel=1e-4)
        assert captured.scores["qppl"][i] == pytest.approx(float(qnll.exp()), rel=1e-4)
        assert captured.scores["token_entropy"][i] == pytest.approx(float(entropy), rel=1e-4)
        assert captured.scores["self_certainty"][i] == pytest.approx(float(certainty), rel=1e-4)


def _rollout(prompt, response, reason):
    return Rollout(0, 0, prompt, response, "", reason)


def test_anchors_plain_model_eos_and_truncation():
    done = find_anchors(_rollout([1, 2, 3], [7, 8, 9, 2], "stop"))
    assert (done.reasoning_start, done.reasoning_end, done.last_prompt, done.truncated) == (3, 5, 2, False)
    cut = find_anchors(_rollout([1, 2, 3], [7, 8, 9], "length"))
    assert (cut.reasoning_start, cut.reasoning_end, cut.truncated) == (3, 5, True)
    moved = find_anchors(_rollout([1, 2, 3], [7, 8, 2], "stop"), start_anchor="last_prompt_token")
    assert moved.reasoning_start == 2


def test_anchors_thinking_model():
    think, end = 50, 51
    closed = find_anchors(_rollout([1, 2], [9, think, 7, 7, end, 4, 2], "stop"), think_start_id=think, think_end_id=end)
    assert (closed.reasoning_start, closed.reasoning_end, closed.truncated) == (3, 6, False)
    open_ = find_anchors(_rollout([1, 2], [think, 7, 7, 2], "stop"), think_start_id=think, think_end_id=end)
    assert (open_.reasoning_start, open_.reasoning_end, open_.truncated) == (2, 4, True)


def test_layer_specs():
    assert resolve_layers("all", 4) == [1, 2, 3, 4]
    assert resolve_layers("all", 4, exclude_final_norm_layer=True) == [1, 2, 3]
    assert resolve_layers("last_k:2", 4) == [3, 4]
    assert resolve_layers("0,2,-1", 4) == [0, 2, 4]
    for bad in ("last_k:9", "1,9", "abc", "last_k:x"):
        with pytest.raises(OprdInputError):
            resolve_layers(bad, 4)


def test_bad_position_name_lists_the_choices(tiny, rollouts):
    with pytest.raises(OprdInputError, match="reasoning_start"):
        capture_features(*tiny, rollouts, CaptureConfig(positions=("middle",)))
