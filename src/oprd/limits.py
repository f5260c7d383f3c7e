"""Upper (and lower) bounds of every size a user can set, in one table.

Sizes without an upper bound let one typo allocate a job list of 1e9 entries or run for days
(``group_size: 1e9``, ``--max-new-tokens 99999999999``); each bound below is far above any real
run and is stated in the error, so a user who needs more knows what was refused.
"""

from __future__ import annotations

from typing import Any

from oprd.errors import param_error

MAX_SEED = 2**32 - 1
MAX_NEW_TOKENS = 262_144  # 256K: the longest contexts of current open models
MAX_PROMPT_CHARS = 1_000_000  # per prompt, before tokenization (the model's context is checked too)
MAX_ROWS_PER_BATCH = 65_536  # also keeps refill-round rollout positions (offset 1e6) apart

#: name -> (lowest, highest) accepted value, inclusive.
SIZE_LIMITS: dict[str, tuple[int, int]] = {
    "max_new_tokens": (1, MAX_NEW_TOKENS),
    "eval_max_new_tokens": (1, MAX_NEW_TOKENS),
    "batch_size": (1, MAX_ROWS_PER_BATCH),
    "micro_batch_size": (1, MAX_ROWS_PER_BATCH),
    "generation_batch_size": (1, MAX_ROWS_PER_BATCH),
    "attention_batch_size": (1, 4_096),
    "chunk_size": (1, MAX_ROWS_PER_BATCH),
    "group_size": (2, 1_024),
    "answer_samples": (0, 1_024),
    "k": (1, 64),
    "probe_samples": (1, 1_024),
    "consistency_samples": (1, 1_024),
    "probes": (1, 10_000_000),
    "eval_k": (1, 1_024),
    "ppo_epochs": (1, 100),
    "max_steps": (1, 100_000_000),
    "save_steps": (1, 100_000_000),
    "save_total_limit": (1, 100_000),
    "eval_steps": (0, 100_000_000),
    "warmup_steps": (0, 100_000_000),
    "max_refill_rounds": (0, 100),
    "olr_start_epoch": (-1, 1_000_000),  # -1: refine from the first epoch on ("after epoch -1")
    "olr_window": (1, 1_000_000),
    "max_nonfinite_skips": (1, 1_000),
    "lora_r": (0, 4_096),
    "log_completions_steps": (0, 1_000_000),
    "logprob_chunk_size": (0, MAX_NEW_TOKENS),
    "olr_min_visits": (1, 1_000_000),
    "num_shards": (1, 100_000),
    "window": (1, MAX_NEW_TOKENS),
    "chunk": (1, MAX_NEW_TOKENS),
    "n_sink": (0, 1_024),
    "seed": (0, MAX_SEED),
    "label_seed": (0, MAX_SEED),
}


def check_size(name: str, value: Any, owner: str, *, limits: tuple[int, int] | None = None) -> int:
    """``value`` when it is an int within ``SIZE_LIMITS[name]`` (or ``limits``); else the one parameter error."""
    low, high = limits or SIZE_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise param_error(name, owner, f"an int in [{low}, {high}]", value)
    return value


def check_sizes(obj: Any, names: tuple[str, ...], owner: str) -> None:
    """:func:`check_size` for each named attribute of ``obj`` that is set (None = not used)."""
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            check_size(name, value, owner)
