"""Every setting of a selection run checked before the first expensive step.

A feature cache hit skips model loading, so a setting that is only read when a model runs (an
unknown ``generation_backend``, a malformed layer spec) would otherwise pass unnoticed on a second
run and fail on the first; checking all of them here makes both runs behave the same.
"""

from __future__ import annotations

from oprd.errors import OprdInputError, param_error
from oprd.limits import check_size, check_sizes

GENERATION_BACKENDS = ("hf", "vllm")
MODEL_DTYPES = ("float32", "bfloat16", "float16")
START_ANCHORS = ("first_response", "last_prompt_token")


def preflight_selection(config) -> None:
    """Types, names and sizes of a :class:`~oprd.selectors.pipeline.SelectionConfig` (converted in place)."""
    from oprd.features.layers import check_layer_spec
    from oprd.selectors.backends import BACKENDS
    from oprd.selectors.methods import EMBEDDINGS, METHODS
    from oprd.selectors.validation import storage_dtype
    from oprd.typed_config import coerce_instance

    owner = "SelectionConfig"
    coerce_instance(config)
    _one_of("method", config.method, tuple(METHODS), owner)
    _one_of("generation_backend", config.generation_backend, GENERATION_BACKENDS, owner)
    _one_of("backend", config.backend, BACKENDS, owner)
    _one_of("embedding", config.embedding, EMBEDDINGS, owner)
    _one_of("dtype", config.dtype, MODEL_DTYPES, owner)
    _one_of("start_anchor", config.start_anchor, START_ANCHORS, owner)
    storage_dtype(config.storage_dtype, owner)
    check_sizes(config, ("max_new_tokens", "batch_size", "chunk_size", "answer_samples", "seed", "num_shards"), owner)
    if config.shard_index is not None:
        check_size("shard_index", config.shard_index, owner, limits=(0, (config.num_shards or 1) - 1))
    check_layer_spec(config.layers)
    if config.output_format is not None:
        from oprd.data.row_writer import OUTPUT_FORMATS

        _one_of("output_format", config.output_format, OUTPUT_FORMATS, owner)
    check_backend_installed(config.generation_backend)


def check_backend_installed(backend: str) -> None:
    """``vllm`` needs the vllm package; say so before anything is loaded."""
    from oprd.generation.vllm_backend import vllm_available

    if backend == "vllm" and not vllm_available():
        raise OprdInputError("--generation-backend vllm needs the vllm package, which is not installed; "
                             "install it with `pip install 'oprd[vllm]'` or use --generation-backend hf")


def _one_of(name: str, value: object, allowed: tuple[str, ...], owner: str) -> None:
    if value not in allowed:
        raise param_error(name, owner, f"one of {', '.join(allowed)}", value)
