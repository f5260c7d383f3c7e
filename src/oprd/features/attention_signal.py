"""Long-range attention signal of PivotTrace: per generated token, the attention mass placed far back.

For each generated position t, ``LR_t`` is the mean over the chosen layers and all query heads of
``sum_{n_sink <= j <= t - W} A[t, j]`` (variant ``long_range``) or ``sum_{n_sink <= j < P} A[t, j]``
(variant ``prompt_mass``: re-reading the question; P = prompt length). The attention rows are rebuilt
from each hooked layer's own q/k projections and rotary embeddings in one teacher-forced forward,
query rows ``chunk`` at a time, so no kernel has to return weights and memory stays O(T x chunk) per
layer, never O(T^2 x heads). Only per-token scalars are kept.

Batches are right-padded without an attention mask: under a causal mask a real token never sees the
pads that follow it, so its attention is exactly that of the unpadded sequence. Blocks below the
deepest hooked one run with the model's own kernel (sdpa keeps them O(T) too); the forward stops at
the deepest hooked block. Scores are formed in float32 whatever the model's dtype.
"""

from __future__ import annotations

import sys
from typing import Callable, Sequence

import numpy as np

from oprd.errors import OprdInputError, param_error
from oprd.features.hooked_forward import StopForward, forward_until_stop
from oprd.features.layers import decoder_parts
from oprd.generation.base import Rollout

VARIANTS = ("long_range", "prompt_mass")
SUPPORTED_MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")


def default_attention_layers(n_layers: int) -> list[int]:
    """Every second block of the upper half (0-based block indices), the spec's default subset."""
    return list(range(n_layers // 2, n_layers, 2))


def effective_window(window: int, response_len: int) -> int:
    """``min(window, len / 4)`` (at least 1): short traces get a proportionally short window."""
    return max(1, int(min(window, response_len / 4)))


def long_range_attention(
    model,
    rollouts: Sequence[Rollout],
    *,
    layers: Sequence[int] | None = None,
    window: int = 128,
    n_sink: int = 4,
    chunk: int = 256,
    variant: str = "long_range",
    batch_size: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """One float32 array per rollout with one value per generated token (EOS included).

    ``layers`` are 0-based decoder block indices (negative counts from the end); the default is
    every second block of the upper half. Raises :class:`OprdInputError` for models whose attention
    cannot be rebuilt from q/k projections plus rotary embeddings (not Llama/Qwen/Mistral-style).
    """
    import torch

    check_options(window, n_sink, chunk, variant, batch_size)
    body, blocks = check_reconstructible(model)
    chosen = _resolve_layers(layers, len(blocks))
    attention_modules = [blocks[i].self_attn for i in chosen]
    device = next(body.parameters()).device
    results: list[np.ndarray] = []
    for start in range(0, len(rollouts), batch_size):
        batch = list(rollouts[start : start + batch_size])
        sums = [torch.zeros(len(r.response_ids), dtype=torch.float64) for r in batch]
        if any(len(r.response_ids) for r in batch):
            _forward(body, attention_modules, batch, sums, model.config, device,
                     dict(window=window, n_sink=n_sink, chunk=chunk, variant=variant))
        results.extend((total / len(chosen)).numpy().astype(np.float32) for total in sums)
        if progress:
            progress(len(batch))
    return results


def check_reconstructible(model):
    """``(decoder body, blocks)``; raises unless every block's attention weights can be rebuilt from its
    own q/k projections and rotary embeddings (Llama/Qwen/Mistral-style decoders)."""
    model_type = getattr(getattr(model, "config", None), "model_type", type(model).__name__)
    try:
        body, _, blocks, _ = decoder_parts(model)
        attention = [block.self_attn for block in blocks]
    except (OprdInputError, AttributeError):
        body, blocks, attention = None, [], []
    rotary = [getattr(sys.modules.get(type(a).__module__), "apply_rotary_pos_emb", None) for a in attention]
    has_parts = all(hasattr(a, name) for a in attention for name in ("q_proj", "k_proj", "head_dim", "scaling"))
    softcap = getattr(getattr(model, "config", None), "attn_logit_softcapping", None)
    supported = model_type in SUPPORTED_MODEL_TYPES and has_parts and None not in rotary and softcap is None
    if not attention or not supported:
        raise OprdInputError(
            f"the long-range attention signal cannot rebuild eager attention for {type(model).__name__} "
            f"(model type {model_type!r}); it supports Llama/Qwen/Mistral-style models "
            f"({', '.join(SUPPORTED_MODEL_TYPES)}); use such a model or a score that needs no attention "
            "(--score lexical, consistency, token-entropy or self-certainty)"
        )
    return body, blocks


def check_options(window: int, n_sink: int, chunk: int, variant: str, batch_size: int = 1) -> None:
    """Raise the one parameter-error shape for a bad option (callers validate before running models)."""
    owner = "long_range_attention"
    checks = (("window", window, 1), ("n_sink", n_sink, 0), ("chunk", chunk, 1), ("batch_size", batch_size, 1))
    for name, value, low in checks:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise param_error(name, owner, f"an int >= {low}", value)
    if variant not in VARIANTS:
        raise param_error("variant", owner, "one of " + ", ".join(map(repr, VARIANTS)), variant)


def _resolve_layers(layers: Sequence[int] | None, n_layers: int) -> list[int]:
    if layers is None:
        return default_attention_layers(n_layers)
    resolved = sorted({int(i) + n_layers if int(i) < 0 else int(i) for i in layers})
    if not resolved or any(not 0 <= i < n_layers for i in resolved):
        raise param_error("layers", "long_range_attention", f"None or block indices in [-{n_layers}, {n_layers})",
                          list(layers))
    return resolved


def _forward(body, attention_modules, batch: list[Rollout], sums, config, device, options: dict) -> None:
    """One right-padded forward; each hooked layer adds its per-token head-mean mass into ``sums``."""
    import torch

    sequences = [r.prompt_ids + r.response_ids for r in batch]
    width = max(len(s) for s in sequences)
    input_ids = torch.zeros((len(batch), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    deepest = attention_modules[-1]

    def hook(module, args, kwargs):
        hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        rotary = kwargs.get("position_embeddings")
        if rotary is None:
            raise OprdInputError(
                f"{type(module).__name__} received no rotary position embeddings; the long-range attention "
                "signal needs a Llama/Qwen/Mistral-style decoder"
            )
        queries, keys = _queries_keys(module, hidden, rotary)
        sliding = _sliding_window(module, config)
        for row, rollout in enumerate(batch):
            if rollout.response_ids:
                sums[row] += _row_mass(queries[row], keys[row], len(rollout.prompt_ids), len(sequences[row]),
                                       module.scaling, sliding, **options)
        if module is deepest:
            raise StopForward

    handles = [m.register_forward_pre_hook(hook, with_kwargs=True) for m in attention_modules]
    with torch.no_grad():
        forward_until_stop(body, handles, input_ids=input_ids.to(device))


def _queries_keys(module, hidden, rotary):
    """Rotated queries (B, H, T, d) and keys (B, Hkv, T, d), as the module itself computes them.

    Qwen3-style per-head q/k norms act on the head dimension before the transpose; norms over the
    whole projection act before the reshape.
    """
    batch, length, _ = hidden.shape
    head_dim = module.head_dim
    q = module.q_proj(hidden)
    k = module.k_proj(hidden)
    q_norm, k_norm = getattr(module, "q_norm", None), getattr(module, "k_norm", None)
    per_head = q_norm is not None and q_norm.weight.shape[-1] == head_dim
    if q_norm is not None and not per_head:
        q, k = q_norm(q), k_norm(k)
    q = q.view(batch, length, -1, head_dim)
    k = k.view(batch, length, -1, head_dim)
    if per_head:
        q, k = q_norm(q), k_norm(k)
    apply_rotary = sys.modules[type(module).__module__].apply_rotary_pos_emb
    cos, sin = rotary
    return apply_rotary(q.transpose(1, 2), k.transpose(1, 2), cos, sin)


def _sliding_window(module, config) -> int | None:
    """The layer's sliding attention window (Qwen sets it per layer, Mistral in the config)."""
    if hasattr(module, "sliding_window"):
        return module.sliding_window
    return getattr(config, "sliding_window", None) if getattr(config, "model_type", "") == "mistral" else None


def _row_mass(q, k, prompt_len: int, length: int, scaling: float, sliding: int | None, *, window: int, n_sink: int,
              chunk: int, variant: str):
    """Head-mean attention mass in the target key range for query rows ``prompt_len .. length-1``.

    Query heads are grouped by the kv head they share (GQA), which equals expanding the kv heads.
    """
    import torch

    q, k = q.float(), k.float()
    n_heads, _, head_dim = q.shape
    n_kv = k.shape[0]
    grouped = q[:, :length].reshape(n_kv, n_heads // n_kv, length, head_dim)
    keys_t = k[:, None, :length].transpose(-1, -2)
    lag = effective_window(window, length - prompt_len)
    out = torch.empty(length - prompt_len, dtype=torch.float64)
    for lo in range(prompt_len, length, chunk):
        hi = min(lo + chunk, length)
        t = torch.arange(lo, hi, device=q.device)[:, None]
        j = torch.arange(hi, device=q.device)[None, :]
        visible = j <= t
        if sliding is not None:
            visible &= j > t - sliding
        target = visible & (j >= n_sink) & ((j <= t - lag) if variant == "long_range" else (j < prompt_len))
        # softmax worked in place on the one (heads x chunk x keys) buffer: shift, exp, then two sums
        weights = torch.matmul(grouped[:, :, lo:hi], keys_t[..., :hi]).mul_(scaling)
        weights.masked_fill_(~visible, float("-inf"))
        weights.sub_(weights.amax(dim=-1, keepdim=True)).exp_()
        total = weights.sum(dim=-1)
        mass = weights.masked_fill_(~target, 0.0).sum(dim=-1) / total
        out[lo - prompt_len : hi - prompt_len] = mass.mean(dim=(0, 1)).double().cpu()
    return out
