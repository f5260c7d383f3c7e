"""The model side of a pool for PivotTrace: sampled rollouts, their attention signals and token scores.

Each result is computed once and kept in the feature cache (:func:`oprd.features.cache.keyed_cache`)
under a key of the pool's prompts, the model's content and every setting it depends on, so a re-run
(other cuts, the continue step after probe labels, a run killed even with kill -9) regenerates
nothing already written. The model loads on first need: a fully cached run never loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from oprd.features.cache import cache_key, keyed_cache, model_identity
from oprd.generation.base import Rollout, SamplingConfig


class ModelSide:
    """Rollouts, signals and scores of one pool under one model and its generation settings, cached.

    ``rebuild_attention`` refuses, as the model loads (before any generation), a model whose
    attention the long-range signal cannot rebuild.
    """

    def __init__(self, pool, *, model: str, template: str, dtype: str, max_new_tokens: int, batch_size: int,
                 system_prompt: str | None = None, chat_template_kwargs: dict | None = None,
                 cache_root: Path, trust_remote_code: bool = False, rebuild_attention: bool = False,
                 progress: bool = True) -> None:
        from oprd.models.loading import resolve_model_path

        self.pool = pool
        self.model = model
        self.template = template
        self.system_prompt = system_prompt
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.dtype = dtype
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.trust_remote_code = trust_remote_code
        self.rebuild_attention = rebuild_attention
        self.progress = progress
        self.cache_root = Path(cache_root)
        self.base = {"pool_sha256": pool.sha256, "n_rows": pool.n, "prompts": cache_key({"prompts": pool.prompts}),
                     "model": model_identity(model, resolve_model_path(model)), "template": template,
                     "system_prompt": system_prompt, "chat_template_kwargs": self.chat_template_kwargs, "dtype": dtype,
                     "max_new_tokens": max_new_tokens, "batch_size": batch_size}
        self._loaded = None
        self._tokenizer = None
        self._has_newline: dict[int, bool] = {}

    def loaded(self):
        """``(model, tokenizer)``, loaded on first need."""
        if self._loaded is None:
            from oprd.features.attention_signal import check_reconstructible
            from oprd.models.loading import load_model

            self._loaded = load_model(self.model, dtype=self.dtype, trust_remote_code=self.trust_remote_code)
            if self.rebuild_attention:
                check_reconstructible(self._loaded[0])
        return self._loaded

    def tokenizer(self):
        """The tokenizer, loaded alone when cached results make the model unnecessary."""
        if self._loaded is not None:
            return self._loaded[1]
        if self._tokenizer is None:
            from oprd.models.loading import load_tokenizer

            self._tokenizer = load_tokenizer(self.model, trust_remote_code=self.trust_remote_code)
        return self._tokenizer

    def line_breaks(self, ids: list[int]) -> list[bool]:
        """Whether each token's text holds a line break (memoised per token id)."""
        tokenizer = self.tokenizer()
        for token in set(ids) - self._has_newline.keys():
            self._has_newline[token] = "\n" in tokenizer.decode([token])
        return [self._has_newline[token] for token in ids]

    def rollouts(self, indices: Sequence[int], n: int, temperature: float, seed: int, label: str) -> list[Rollout]:
        """``n`` sampled rollouts per pool row in ``indices`` (prompt-major), cached."""
        from oprd.models.chat import build_prompt_ids

        description = {**self.base, "ids": cache_key({"ids": [self.pool.ids[i] for i in indices]}), "n": n,
                       "temperature": temperature, "seed": seed}
        tokenizer = self.tokenizer()
        prompts = [build_prompt_ids(tokenizer, self.pool.prompts[i], template=self.template,
                                    system_prompt=self.system_prompt, chat_template_kwargs=self.chat_template_kwargs)
                   for i in indices]
        cache = keyed_cache(self.cache_root, "rollouts", description)
        if cache.has(0):
            return _rollouts_from_arrays(*cache.read(0), prompts, n)
        from oprd.generation import HFGenerator
        from oprd.progress import progress_bar

        sampling = SamplingConfig(max_new_tokens=self.max_new_tokens, temperature=temperature, n=n, seed=seed,
                                  batch_size=self.batch_size)
        with progress_bar(label, len(prompts) * n, enabled=self.progress, unit="seq") as advance:
            rollouts = HFGenerator(*self.loaded()).generate(prompts, sampling, progress=advance)
        cache.write(0, *_rollouts_to_arrays(rollouts))
        return rollouts

    def signals(self, rollouts: list[Rollout], *, layers: list[int] | None, window: int, n_sink: int, chunk: int,
                variant: str, batch_size: int) -> list[np.ndarray]:
        """Per-token long-range attention signal of each rollout (:mod:`oprd.features.attention_signal`),
        cached; ``chunk`` and ``batch_size`` bound memory and leave the values unchanged."""
        from oprd.features.attention_signal import long_range_attention
        from oprd.progress import progress_bar

        description = {**self.base, "rollouts": _rollouts_digest(rollouts), "layers": layers, "window": window,
                       "n_sink": n_sink, "variant": variant}
        cache = keyed_cache(self.cache_root, "signals", description)
        if cache.has(0):
            arrays = cache.read(0)[0]
            return np.split(arrays["values"], arrays["offsets"][1:-1])
        with progress_bar("attention signal", len(rollouts), enabled=self.progress, unit="seq") as advance:
            values = long_range_attention(self.loaded()[0], rollouts, layers=layers, window=window, n_sink=n_sink,
                                          chunk=chunk, variant=variant, batch_size=batch_size, progress=advance)
        offsets = np.cumsum([0, *(len(v) for v in values)]).astype(np.int64)
        concatenated = np.concatenate(values) if values else np.zeros(0, np.float32)
        cache.write(0, {"values": concatenated.astype(np.float32), "offsets": offsets}, [])
        return values

    def token_scores(self, rollouts: list[Rollout]) -> dict[str, np.ndarray]:
        """Mean next-token entropy and self-certainty of each rollout, cached."""
        cache = keyed_cache(self.cache_root, "token-scores", {**self.base, "rollouts": _rollouts_digest(rollouts)})
        if cache.has(0):
            return cache.read(0)[0]
        from oprd.features.capture import CaptureConfig, capture_features

        model, tokenizer = self.loaded()
        config = CaptureConfig(layers=[model.config.num_hidden_layers], positions=("last_prompt",),
                               with_token_scores=True, batch_size=self.batch_size)
        scores = capture_features(model, tokenizer, rollouts, config).scores
        arrays = {name: scores[name] for name in ("token_entropy", "self_certainty")}
        cache.write(0, arrays, [])
        return arrays


def _rollouts_digest(rollouts: list[Rollout]) -> str:
    return cache_key({"rollouts": [r.prompt_ids + [-1] + r.response_ids for r in rollouts]})


def _rollouts_to_arrays(rollouts: list[Rollout]) -> tuple[dict[str, np.ndarray], list[str]]:
    offsets = np.cumsum([0, *(len(r.response_ids) for r in rollouts)]).astype(np.int64)
    ids = np.array([t for r in rollouts for t in r.response_ids], dtype=np.int64)
    stop = np.array([r.finish_reason == "stop" for r in rollouts], dtype=np.uint8)
    return {"response_ids": ids, "offsets": offsets, "stop": stop}, [r.text for r in rollouts]


def _rollouts_from_arrays(arrays: dict[str, np.ndarray], texts: list[str], prompts: list[list[int]],
                          n: int) -> list[Rollout]:
    responses = np.split(arrays["response_ids"], arrays["offsets"][1:-1])
    return [
        Rollout(j // n, j % n, list(prompts[j // n]), [int(t) for t in responses[j]], texts[j],
                "stop" if arrays["stop"][j] else "length")
        for j in range(len(texts))
    ]
