"""Pool -> rollouts -> captured features, chunked, cached, resumable and shardable."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from oprd.features.cache import ChunkPlan, FeatureCache, cache_key, model_identity, token_ids_digest
from oprd.features.capture import CaptureConfig, capture_features
from oprd.generation.base import SamplingConfig
from oprd.models.chat import DEFAULT_REASONING_TEMPLATE


@dataclass
class ExtractionConfig:
    """Everything that decides the features of a pool (and therefore the cache key).

    ``answer_samples`` > 0 also draws that many sampled answers per prompt at
    ``answer_temperature`` and stores the entropy of their final-answer clusters (``sc_entropy``).
    """

    model: str = "smollm2-135m-instruct"
    template: str = DEFAULT_REASONING_TEMPLATE
    system_prompt: str | None = None
    chat_template_kwargs: dict = field(default_factory=dict)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    answer_samples: int = 0
    answer_temperature: float = 1.0
    chunk_size: int = 64
    dtype: str = "float32"
    backend: str = "hf"
    trust_remote_code: bool = False


@dataclass
class PoolFeatures:
    """Features of every pool row, in pool order."""

    states: dict[str, np.ndarray]
    truncated: np.ndarray
    response_length: np.ndarray
    texts: list[str]
    scores: dict[str, np.ndarray]
    cache_dir: Path | None = None


def shard_from_env(num_shards: int | None, shard_index: int | None) -> tuple[int, int]:
    """Explicit shard flags win; otherwise one shard per torchrun rank; otherwise one shard."""
    if num_shards is not None:
        return num_shards, shard_index or 0
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return world, int(os.environ.get("RANK", "0")) if world > 1 else 0


def extract_pool_features(
    pool,
    config: ExtractionConfig,
    *,
    cache_root: Path | None = None,
    num_shards: int | None = None,
    shard_index: int | None = None,
    progress: bool = True,
) -> PoolFeatures | None:
    """Compute (or load from cache) this shard's chunks, then return the merged features.

    Returns None when other shards still have chunks to compute (this shard's part is done).
    """
    from oprd.models.builtin import cache_root as default_cache_root
    from oprd.models.context import pool_prompt_ids
    from oprd.models.loading import load_tokenizer, resolve_model_path
    from oprd.progress import progress_bar

    num_shards, shard_index = shard_from_env(num_shards, shard_index)
    plan = ChunkPlan(pool.n, config.chunk_size, num_shards, shard_index)
    resolved = resolve_model_path(config.model)
    tokenizer = load_tokenizer(config.model, trust_remote_code=config.trust_remote_code)
    prompt_ids = pool_prompt_ids(pool.prompts, pool.ids, tokenizer, resolved, template=config.template,
                                 max_new_tokens=config.sampling.max_new_tokens, source=str(pool.path or "pool"),
                                 trust_remote_code=config.trust_remote_code, system_prompt=config.system_prompt,
                                 chat_template_kwargs=config.chat_template_kwargs)
    description = {  # what was fed to the model, the model's content, and every setting
        "prompt_ids_sha256": token_ids_digest(prompt_ids),
        "n_rows": pool.n,
        "model": model_identity(config.model, resolved),
        "config": {k: v for k, v in asdict(config).items() if k not in ("model", "backend")},
    }
    cache = FeatureCache(Path(cache_root or default_cache_root() / "features"), cache_key(description), description)
    todo = [c for c in plan.my_chunks() if not cache.has(c)]
    if todo:
        _compute_chunks(prompt_ids, config, resolved, plan, cache, todo, progress, progress_bar)
    if any(not cache.has(c) for c in range(plan.n_chunks)) and num_shards > 1:
        return None
    arrays, texts = cache.merge(plan)
    states = {name[len("state/") :]: arrays[name] for name in arrays if name.startswith("state/")}
    scores = {name[len("score/") :]: arrays[name] for name in arrays if name.startswith("score/")}
    return PoolFeatures(states, arrays["truncated"].astype(bool), arrays["response_length"], texts, scores, cache.dir)


def _compute_chunks(prompt_ids, config, resolved, plan, cache, todo, progress, progress_bar) -> None:
    """Generate and capture the ``todo`` chunks from the already keyed ``prompt_ids`` (one per pool row)."""
    from oprd.generation import make_generator
    from oprd.models.loading import load_model

    model, tokenizer = load_model(config.model, dtype=config.dtype, trust_remote_code=config.trust_remote_code)
    generator = make_generator(config.backend, model, tokenizer, model_path=resolved,
                               trust_remote_code=config.trust_remote_code)
    n_rows = sum(len(plan.rows(c)) for c in todo)
    with progress_bar("rollouts + capture", n_rows, enabled=progress, unit="prompts") as advance:
        for chunk in todo:
            rows = plan.rows(chunk)
            prompts = [prompt_ids[i] for i in rows]
            sampling = SamplingConfig(**{**asdict(config.sampling), "seed": config.sampling.seed + chunk})
            rollouts = generator.generate(prompts, sampling)
            captured = capture_features(model, tokenizer, rollouts, config.capture)
            arrays = {f"state/{name}": value for name, value in captured.states.items()}
            arrays.update({f"score/{name}": value for name, value in captured.scores.items()})
            if config.answer_samples:
                arrays["score/sc_entropy"] = _answer_entropy(generator, prompts, config, chunk)
            arrays["truncated"] = captured.truncated.astype(np.uint8)
            arrays["response_length"] = captured.response_length
            arrays["rows"] = np.asarray(list(rows), dtype=np.int64)
            cache.write(chunk, arrays, [r.text for r in rollouts])
            advance(len(rows))


def _answer_entropy(generator, prompts, config: ExtractionConfig, chunk: int) -> np.ndarray:
    """Entropy (nats) of the final-answer distribution over sampled answers; no answer = own cluster."""
    from oprd.verify import cluster_answers, extract_answer

    sampling = SamplingConfig(
        **{**asdict(config.sampling), "n": config.answer_samples, "temperature": config.answer_temperature,
           "seed": config.sampling.seed + 7919 * (chunk + 1)}
    )
    rollouts = generator.generate(prompts, sampling)
    entropies = []
    for start in range(0, len(rollouts), config.answer_samples):
        answers = [extract_answer(r.text) for r in rollouts[start : start + config.answer_samples]]
        sizes = [c.size for c in cluster_answers(answers)] + [1] * sum(a is None for a in answers)
        p = np.asarray(sizes, dtype=np.float64) / len(answers)
        entropies.append(float(-(p * np.log(p)).sum()))
    return np.asarray(entropies, dtype=np.float32)
