"""Everything a training run reads, checked before the model loads.

A bad ``--eval-data`` used to surface only at the first evaluation, after training (losing that
run's final checkpoint); a run with nothing to learn from trained on all-zero gradients and exited 0.
:func:`preflight_training` runs at trainer construction, right after the training rows are loaded.
"""

from __future__ import annotations

import sys

from oprd.errors import OprdInputError


def preflight_training(config, data) -> None:
    """Refuse a run that cannot learn or would fail later: signal, eval data, backend, prompt lengths."""
    from oprd.selectors.preflight import check_backend_installed

    check_learning_signal(config, data)
    eval_pool = check_eval_data(config) if config.eval_data else None
    check_backend_installed(config.generation_backend)
    check_prompts_fit(config, data, eval_pool)


def check_learning_signal(config, data) -> None:
    """Unlabeled rows with ``unlabeled_reward: none`` get weight 0; with no labeled rows nothing trains."""
    if config.unlabeled_reward == "none" and data.n_labeled == 0 and not config.distill:
        raise OprdInputError(
            f"{data.source} has no labeled rows (0 of {data.n} have an answer) and --unlabeled-reward none skips "
            "unlabeled ones, so every gradient would be zero; add answers (--answer-key names the column) or pick "
            "an unlabeled reward such as --unlabeled-reward ttrl"
        )


def check_eval_data(config):
    """``--eval-data`` loads now and has answers to score against (rows without one are reported)."""
    from oprd.data import load_pool

    pool = load_pool(config.eval_data, prompt_key=config.prompt_key, answer_key=config.answer_key,
                     id_key=config.id_key)
    if pool.n_labeled == 0:
        raise OprdInputError(
            f"--eval-data {config.eval_data} has no rows with answers (column {config.answer_key!r}); evaluation "
            "needs labeled rows: pass a labeled file, or --answer-key naming its answer column"
        )
    if pool.n_labeled < pool.n:
        print(f"warning: {pool.n - pool.n_labeled} of {pool.n} rows of --eval-data {config.eval_data} have no answer "
              "and are left out of evaluation", file=sys.stderr)
    return pool


def check_prompts_fit(config, data, eval_pool=None) -> None:
    """Every training (and eval) prompt plus ``max_new_tokens`` fits the model's context (tokenizer only)."""
    from oprd.models.context import pool_prompt_ids
    from oprd.models.loading import load_tokenizer, resolve_model_path

    resolved = resolve_model_path(config.model)
    tokenizer = load_tokenizer(config.model, trust_remote_code=config.trust_remote_code)
    pool_prompt_ids(data.prompts, data.ids, tokenizer, resolved, template=config.template,
                    max_new_tokens=config.max_new_tokens, source=data.source,
                    trust_remote_code=config.trust_remote_code)
    if eval_pool is not None:
        pool_prompt_ids(eval_pool.prompts, eval_pool.ids, tokenizer, resolved, template=config.template,
                        max_new_tokens=config.eval_max_new_tokens or config.max_new_tokens,
                        source=f"--eval-data {config.eval_data}", trust_remote_code=config.trust_remote_code)
