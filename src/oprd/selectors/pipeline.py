"""One call from a pool to a written selection: extraction (cached), ranking, output dir, plot."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from oprd.errors import OprdInputError
from oprd.features.capture import CaptureConfig
from oprd.features.pipeline import ExtractionConfig, PoolFeatures, extract_pool_features
from oprd.generation.base import SamplingConfig
from oprd.models.builtin import DEFAULT_MODEL
from oprd.selectors.methods import EMBEDDINGS, METHODS, embedding_for, shift_inputs

SHIFT_POSITIONS = ("reasoning_start", "reasoning_end", "mean_prompt")


@dataclass
class SelectionConfig:
    """Every knob of a selection run (defaults: ``docs/methods/shift.md``); the resolved copy is saved in the
    manifest. Each field's help is its ``oprd-select`` flag's help and its YAML key's meaning."""

    method: str = field(default="shift", metadata={"help": "Selection method (the oprd-select subcommand)."})
    budget: int | float = field(
        default=0.1, metadata={"help": "Rows to select: an int, or a fraction of the pool in (0, 1]."})
    model: str = field(default=DEFAULT_MODEL, metadata={"help": "Built-in name, HF dir or hub id."})
    layers: str | list[int] = field(
        default="all", metadata={"help": "all | last_k:K | comma list of hidden_states indices 0..L (negative "
                                         "count from the end, -1 = L); their states are averaged."})
    exclude_final_norm_layer: bool = field(
        default=False, metadata={"help": "Leave index L (after the final norm) out of all and last_k:K."})
    start_anchor: str = field(
        default="first_response", metadata={"help": "Reasoning start: first_response (first generated token) | "
                                                    "last_prompt_token."})
    max_new_tokens: int = field(
        default=512, metadata={"help": "Max new tokens of the greedy rollout, 1..262144; prompt + this must fit "
                                       "the model's context."})
    batch_size: int = field(default=8, metadata={"help": "Sequences per generation/capture batch, 1..65536."})
    generation_backend: str = field(default="hf", metadata={"help": "Rollout backend: hf | vllm."})
    dtype: str = field(default="float32", metadata={"help": "Model dtype: float32 | bfloat16 | float16."})
    backend: str = field(
        default="auto", metadata={"help": "Coreset backend: auto (faiss when installed) | numpy | faiss | torch."})
    storage_dtype: str = field(
        default="float32", metadata={"help": "Feature matrix dtype in the coreset engine: float32 | float16."})
    embedding: str = field(default="phi", metadata={"help": f"kcenter/kmeans space: {' | '.join(EMBEDDINGS)}."})
    answer_samples: int = field(
        default=8, metadata={"help": "Sampled answers per prompt for the methods that use them (sc-entropy)."})
    seed: int = field(default=0, metadata={"help": "Seed (random baseline, sampled answers)."})
    chunk_size: int = field(
        default=64, metadata={"help": "Prompts per cached feature chunk (the unit a killed run resumes from)."})
    num_shards: int | None = field(
        default=None, metadata={"help": "Split extraction into this many shards (unset = torchrun world size "
                                        "or 1)."})
    shard_index: int | None = field(
        default=None, metadata={"help": "Which shard this process extracts (unset = torchrun rank or 0)."})
    cache_dir: str | None = field(
        default=None, metadata={"help": "Feature cache dir (unset = $OPRD_CACHE/features)."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow custom code from the model repo."})
    system_prompt: str | None = field(
        default=None, metadata={"help": "A system message before every prompt (unset = none)."})
    chat_template_kwargs: dict = field(
        default_factory=dict, metadata={"help": "Keywords for the chat template, e.g. enable_thinking=false."})
    output_format: str | None = field(
        default=None, metadata={"help": "Output rows as jsonl | json | parquet | hf (a datasets save_to_disk "
                                        "folder); unset = the pool's own format."})

    def extraction(self) -> ExtractionConfig:
        """The extraction this method needs (shared across methods where the needs are equal)."""
        spec = METHODS[self.method]
        return ExtractionConfig(
            model=self.model,
            system_prompt=self.system_prompt,
            chat_template_kwargs=dict(self.chat_template_kwargs),
            sampling=SamplingConfig(max_new_tokens=self.max_new_tokens, temperature=0.0, batch_size=self.batch_size,
                                    seed=self.seed),
            capture=CaptureConfig(layers=self.layers, positions=SHIFT_POSITIONS, reduce_layers="mean",
                                  exclude_final_norm_layer=self.exclude_final_norm_layer, start_anchor=self.start_anchor,
                                  with_token_scores=spec.token_scores, batch_size=self.batch_size),
            answer_samples=self.answer_samples if spec.answer_samples else 0,
            chunk_size=self.chunk_size,
            dtype=self.dtype,
            backend=self.generation_backend,
            trust_remote_code=self.trust_remote_code,
        )


@dataclass
class Selection:
    """What a selection run produced."""

    method: str
    indices: np.ndarray
    ids: list[str]
    scores: np.ndarray
    budget: int
    out_dir: Path | None
    features: PoolFeatures | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def run_selection(pool, config: SelectionConfig, *, out_dir: Path | str | None = None, progress: bool = True,
                  overwrite: bool = False) -> Selection | None:
    """Select ``config.budget`` rows of ``pool`` with ``config.method`` and write ``out_dir``.

    ``out_dir`` may not hold the pool (or a local model dir), and a complete earlier selection in it
    is replaced only with ``overwrite=True``; both are checked before any rollout.
    Returns None when this process is one shard of a sharded extraction and others are still running.
    """
    from oprd.selectors.registry import SELECTORS

    if out_dir is not None:
        check_selection_out(out_dir, {"--pool": pool.path, "--model": config.model}, overwrite=overwrite)

    if config.method not in METHODS:
        raise OprdInputError(f"unknown selection method {config.method!r}; choose from {', '.join(METHODS)}")
    if pool.n == 0:
        raise OprdInputError(f"the pool {pool.path} has no rows; nothing to select from")
    from oprd.selectors.preflight import preflight_selection

    preflight_selection(config)  # types, names, sizes: every setting checked before any model work
    spec = METHODS[config.method]
    selector = _build_selector(config, pool.n, SELECTORS)
    check_budget_fits(config.budget, pool)
    selector._resolve_budget(pool.n)  # reject a bad budget before any rollout is generated
    if config.method in ("kcenter", "kmeans") and config.embedding not in EMBEDDINGS:
        raise OprdInputError(f"unknown embedding {config.embedding!r}; choose from {', '.join(EMBEDDINGS)}")
    features = None
    if spec.needs_model:
        features = extract_pool_features(
            pool, config.extraction(), cache_root=Path(config.cache_dir) if config.cache_dir else None,
            num_shards=config.num_shards, shard_index=config.shard_index, progress=progress,
        )
        if features is None:
            return None
    _fit(selector, config, features, pool, progress)
    ranking = np.asarray(selector.ranking_, dtype=np.int64)
    extras = _extras(config, features, ranking, selector)
    selection = Selection(config.method, ranking, [pool.ids[i] for i in ranking], np.asarray(selector.scores_),
                          len(ranking), Path(out_dir) if out_dir else None, features, extras)
    if out_dir is not None:
        _write(selection, pool, config, selector, progress)
    return selection


def check_selection_out(out_dir: Path | str, inputs: dict[str, Any], *, overwrite: bool) -> None:
    """The output rules of every selection command: not over an input, not over a finished selection."""
    from oprd.data.outputs import check_output_dir, refuse_previous_result
    from oprd.data.selection_output import MANIFEST

    check_output_dir(out_dir, inputs)
    refuse_previous_result(out_dir, MANIFEST, overwrite=overwrite, what="selection")


def check_budget_fits(budget: Any, pool) -> None:
    """A row-count budget larger than the pool is an error that gives the pool's size."""
    from oprd.selectors.validation import is_int

    if is_int(budget) and int(budget) > pool.n:
        source = pool.path if pool.path is not None else "the pool"
        raise OprdInputError(
            f"--budget {int(budget)} is larger than the pool: {source} has {pool.n} rows; pass at most {pool.n}, "
            "or a fraction of the pool such as 0.1"
        )


def _build_selector(config: SelectionConfig, n: int, registry):
    kind = {"shift": "shift", "random": "random", "utility": "utility", "kcenter": "kcenter", "kmeans": "kmeans"}.get(
        config.method, "score"
    )
    cls = registry[kind]
    if kind == "shift":
        return cls(config.budget, backend=config.backend, dtype=config.storage_dtype)
    if kind in ("random", "kmeans"):
        return cls(config.budget, seed=config.seed)
    if kind == "kcenter":
        return cls(config.budget, backend=config.backend, dtype=config.storage_dtype)
    if kind == "score":
        return cls(config.budget, descending=METHODS[config.method].descending)
    return cls(config.budget)


def _fit(selector, config: SelectionConfig, features: PoolFeatures | None, pool, progress: bool) -> None:
    from oprd.progress import progress_bar
    from oprd.selectors.shift import shift_features

    method = config.method
    if method in ("shift", "kcenter"):
        budget = selector._resolve_budget(pool.n)
        with progress_bar("selection", budget, enabled=progress, unit="picks") as advance:
            last = [0]

            def tick(done: int, total: int) -> None:
                advance(done - last[0])
                last[0] = done

            if method == "shift":
                selector.fit(*shift_inputs(features.states), progress=tick)
            else:
                texts = lambda: [str(p) for p in pool.prompts]  # noqa: E731
                selector.fit(embedding_for(config.embedding, features.states, texts), progress=tick)
    elif method == "random":
        selector.fit(np.zeros((pool.n, 1), dtype=np.float32))
    elif method == "utility":
        selector.fit(shift_features(*shift_inputs(features.states))[1])
    elif method == "kmeans":
        selector.fit(embedding_for(config.embedding, features.states, lambda: [str(p) for p in pool.prompts]))
    else:
        selector.fit(features.scores[METHODS[method].score])


def _extras(config, features, ranking, selector) -> dict[str, Any]:
    extras: dict[str, Any] = {"n_filled": int(getattr(selector, "n_filled_", 0) or 0)}
    if features is not None:
        extras["truncated_share_selected"] = float(features.truncated[ranking].mean()) if len(ranking) else 0.0
        extras["truncated_share_pool"] = float(features.truncated.mean())
        extras["feature_cache"] = features.cache_dir.name if features.cache_dir else None
    if extras["n_filled"]:
        print(
            f"warning: only {len(ranking) - extras['n_filled']} distinct points for a budget of {len(ranking)}; "
            f"filled {extras['n_filled']} with the best remaining by weight",
            file=sys.stderr,
        )
    return extras


def _write(selection: Selection, pool, config: SelectionConfig, selector, progress: bool) -> None:
    from oprd.data import invalidate_output, write_selection
    from oprd.selectors.selection_plot import plot_selection
    from oprd.selectors.shift import shift_features

    out = Path(selection.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    invalidate_output(out)
    features = selection.features
    row_extras = None
    if features is not None:
        row_extras = [
            {"truncated": bool(features.truncated[i]), "response_length": int(features.response_length[i])}
            for i in selection.indices
        ]
        phi, utility = shift_features(*shift_inputs(features.states))
        plot_selection(out / "selection.png", phi, utility, selection.indices,
                       title=f"{config.method}: {selection.budget} of {pool.n}")
    write_selection(
        out, pool, selection.indices, selection.scores, method=config.method, budget=selection.budget,
        seed=config.seed, model=config.model if METHODS[config.method].needs_model else None,
        config=asdict(config), row_extras=row_extras, fmt=config.output_format, **selection.extras,
    )
