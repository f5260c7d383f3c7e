"""The chunked long-range attention signal equals a full eager-attention computation, in bounded memory."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from oprd.errors import OprdInputError
from oprd.features.attention_signal import (
    default_attention_layers,
    effective_window,
    long_range_attention,
)
from oprd.generation import Rollout


@pytest.fixture(scope="module")
def eager_and_sdpa():
    """The same tiny weights with eager attention (the reference) and with the default kernel."""
    from oprd.models.tiny import build_tiny_model

    eager, _ = build_tiny_model(seed=0)
    eager.set_attn_implementation("eager")
    plain, _ = build_tiny_model(seed=0)
    assert plain.config._attn_implementation != "eager"
    return eager, plain


def _rollouts(seed=0, shapes=((30, 200), (7, 41), (12, 0), (9, 6))):
    g = torch.Generator().manual_seed(seed)
    return [
        Rollout(i, 0, torch.randint(5, 200, (p,), generator=g).tolist(),
                torch.randint(5, 200, (r,), generator=g).tolist(), "", "length")
        for i, (p, r) in enumerate(shapes)
    ]


def _reference(model, rollout, layers, window, n_sink, variant):
    """Per-token mass from the full (heads x T x T) attention maps of output_attentions=True."""
    ids = torch.tensor([rollout.prompt_ids + rollout.response_ids])
    with torch.no_grad():
        maps = model(ids, output_attentions=True).attentions
    full = torch.stack([maps[layer][0] for layer in layers]).double()  # (layers, heads, T, T)
    p, r = len(rollout.prompt_ids), len(rollout.response_ids)
    lag = effective_window(window, r)
    values = []
    for t in range(p, p + r):
        stop = t - lag if variant == "long_range" else p - 1
        values.append(full[:, :, t, n_sink : stop + 1].sum(-1).mean().item() if stop >= n_sink else 0.0)
    return np.array(values)


@pytest.mark.parametrize("variant", ["long_range", "prompt_mass"])
@pytest.mark.parametrize("chunk", [16, 1024])
def test_chunked_signal_equals_full_eager_attention(eager_and_sdpa, variant, chunk):
    eager, plain = eager_and_sdpa
    rollouts = _rollouts()
    layers = [0, 1]
    got = long_range_attention(plain, rollouts, layers=layers, window=24, n_sink=4, chunk=chunk, variant=variant,
                               batch_size=3)
    for rollout, values in zip(rollouts, got):
        assert values.shape == (len(rollout.response_ids),) and values.dtype == np.float32
        np.testing.assert_allclose(values, _reference(eager, rollout, layers, 24, 4, variant), atol=2e-6)


def test_default_layers_window_scaling_and_batching(eager_and_sdpa):
    eager, plain = eager_and_sdpa
    assert default_attention_layers(30) == [15, 17, 19, 21, 23, 25, 27, 29]
    assert default_attention_layers(2) == [1]
    assert effective_window(128, 100) == 25 and effective_window(128, 4000) == 128 and effective_window(128, 2) == 1
    rollouts = _rollouts(seed=1)
    one_by_one = long_range_attention(plain, rollouts, chunk=8)
    batched = long_range_attention(plain, rollouts, chunk=64, batch_size=4)
    for a, b, rollout in zip(one_by_one, batched, rollouts):
        np.testing.assert_allclose(a, b, atol=1e-6)
        np.testing.assert_allclose(a, _reference(eager, rollout, [1], 128, 4, "long_range"), atol=2e-6)


def test_models_whose_attention_cannot_be_rebuilt_are_refused():
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50, bos_token_id=0, eos_token_id=0))
    with pytest.raises(OprdInputError, match="cannot rebuild eager attention for GPT2LMHeadModel.*Llama/Qwen/Mistral"):
        long_range_attention(gpt2, _rollouts())


def test_bad_options_are_refused(eager_and_sdpa):
    _, plain = eager_and_sdpa
    with pytest.raises(OprdInputError, match="'variant' parameter"):
        long_range_attention(plain, _rollouts(), variant="keywords")
    with pytest.raises(OprdInputError, match="'layers' parameter"):
        long_range_attention(plain, _rollouts(), layers=[5])
    with pytest.raises(OprdInputError, match="'chunk' parameter"):
        long_range_attention(plain, _rollouts(), chunk=0)


def test_memory_stays_far_below_full_attention_maps_for_long_sequences():
    """Peak resident memory for T=4096 with 8 heads grows by far less than one T x T x heads map."""
    code = textwrap.dedent("""
        import json, resource, torch
        torch.set_num_threads(1)
        from transformers import LlamaConfig, LlamaForCausalLM
        from oprd.generation import Rollout
        from oprd.features.attention_signal import long_range_attention
        config = LlamaConfig(vocab_size=64, hidden_size=64, intermediate_size=64, num_hidden_layers=2,
                             num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=8192)
        torch.manual_seed(0)
        model = LlamaForCausalLM(config).eval()
        signal = dict(layers=[0], chunk=128)
        long_range_attention(model, [Rollout(0, 0, [1] * 8, [2] * 120, "", "length")], **signal)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        values = long_range_attention(model, [Rollout(0, 0, [1] * 16, [3] * 4080, "", "length")], **signal)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"grew_bytes": (after - before) * 1024, "n": len(values[0])}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    full_map_bytes = 4096 * 4096 * 8 * 4
    assert report["n"] == 4080
    assert report["grew_bytes"] < full_map_bytes / 8, report
