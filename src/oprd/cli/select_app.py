"""``oprd-select``: one subcommand per selection method, all with the same options."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from oprd.cli.errors import handle_errors
from oprd.cli.pool_options import (
    AnswerKeyOpt, ConfigOpt, FormatOpt, IdKeyOpt, JsonOpt, ModelOpt, OverwriteOpt, PoolConfigOpt, PoolOpt, PromptKeyOpt,
    QuietOpt, SplitOpt, TrustOpt,
)
from oprd.selectors.methods import EMBEDDINGS, METHODS

app = typer.Typer(
    help="Select a budget of prompts from an unlabeled pool (SHIFT and baselines). "
    "Writes the subset (in the pool's format, or --format), manifest.json (last) and selection.png to --out.",
    no_args_is_help=True,
    add_completion=False,
)

BudgetOpt = Annotated[Optional[str], typer.Option(help="Rows to select: an int, or a fraction of the pool in (0, 1]. [default: 0.1]")]
OutOpt = Annotated[Optional[Path], typer.Option(
    "--out", help="Output dir; may not hold the pool or --config file. [default: runs/<method>-<budget>]")]
LayersOpt = Annotated[Optional[str], typer.Option(
    help="all | last_k:K | comma list of hidden_states indices 0..L (negative count from the end, -1 = L). [default: all]")]
TokensOpt = Annotated[Optional[int], typer.Option(
    help="Max new tokens of the greedy rollout, 1..262144; prompt + this must fit the model's context. [default: 512]")]
BatchOpt = Annotated[Optional[int], typer.Option(help="Sequences per generation/capture batch, 1..65536. [default: 8]")]
BackendOpt = Annotated[Optional[str], typer.Option(help="Coreset backend: auto | numpy | faiss | torch. [default: auto]")]
GenOpt = Annotated[Optional[str], typer.Option(help="Rollout backend: hf | vllm. [default: hf]")]
SeedOpt = Annotated[Optional[int], typer.Option(help="Seed (random baseline, sampled answers). [default: 0]")]
EmbeddingOpt = Annotated[Optional[str], typer.Option(help=f"kcenter/kmeans space: {' | '.join(EMBEDDINGS)}. [default: phi]")]
ShardsOpt = Annotated[Optional[int], typer.Option(help="Split extraction into this many shards. [default: torchrun world size or 1]")]
ShardOpt = Annotated[Optional[int], typer.Option(help="Which shard this process extracts. [default: torchrun rank or 0]")]
CacheOpt = Annotated[Optional[str], typer.Option(help="Feature cache dir. [default: $OPRD_CACHE/features]")]


def _make_command(method: str):
    def command(
        pool: PoolOpt,
        budget: BudgetOpt = None,
        out: OutOpt = None,
        model: ModelOpt = None,
        layers: LayersOpt = None,
        max_new_tokens: TokensOpt = None,
        batch_size: BatchOpt = None,
        backend: BackendOpt = None,
        generation_backend: GenOpt = None,
        seed: SeedOpt = None,
        embedding: EmbeddingOpt = None,
        prompt_key: PromptKeyOpt = "prompt",
        answer_key: AnswerKeyOpt = "answer",
        id_key: IdKeyOpt = "id",
        split: SplitOpt = None,
        pool_config: PoolConfigOpt = None,
        output_format: FormatOpt = None,
        config: ConfigOpt = None,
        num_shards: ShardsOpt = None,
        shard_index: ShardOpt = None,
        cache_dir: CacheOpt = None,
        json_output: JsonOpt = False,
        quiet: QuietOpt = False,
        trust_remote_code: TrustOpt = False,
        overwrite: OverwriteOpt = False,
    ) -> None:
        with handle_errors():
            _run(method, (pool, split, pool_config), config, quiet, json_output, (out, overwrite),
                 (prompt_key, answer_key, id_key), dict(
                budget=budget, model=model, layers=layers, max_new_tokens=max_new_tokens, batch_size=batch_size,
                backend=backend, generation_backend=generation_backend, seed=seed, embedding=embedding,
                num_shards=num_shards, shard_index=shard_index, cache_dir=cache_dir,
                trust_remote_code=trust_remote_code or None, output_format=output_format,
            ))

    command.__doc__ = METHODS[method].help + "."
    return command


def _run(method, source, config_path, quiet, json_output, output, keys, flags) -> None:
    from oprd.cli.options import parse_budget, resolve_config
    from oprd.data import load_pool
    from oprd.selectors.pipeline import SelectionConfig, check_selection_out, run_selection

    out, overwrite = output
    pool_path, split, pool_config = source

    if flags["budget"] is not None:
        flags["budget"] = parse_budget(flags["budget"])
    config = resolve_config(SelectionConfig, config_path, {**flags, "method": method})
    config.budget = parse_budget(config.budget)
    out_dir = out or Path("runs") / f"{method}-{config.budget}"
    check_selection_out(out_dir, {"--pool": pool_path, "--config": config_path, "--model": config.model},
                        overwrite=overwrite)
    pool = load_pool(pool_path, prompt_key=keys[0], answer_key=keys[1], id_key=keys[2], split=split,
                     config_name=pool_config)
    selection = run_selection(pool, config, out_dir=out_dir, progress=not quiet, overwrite=overwrite)
    if selection is None:
        print(f"shard {config.shard_index} done; other shards still running, select again when they finish",
              file=sys.stderr)
        return
    summary = {"out": str(out_dir), "method": method, "budget": selection.budget, "n_pool": pool.n,
               "ids": selection.ids, **selection.extras}
    if json_output:
        print(json.dumps(summary))
    else:
        head = ", ".join(selection.ids[:10]) + (" ..." if len(selection.ids) > 10 else "")
        print(f"selected {selection.budget} of {pool.n} with {method} -> {out_dir}")
        print(f"ids: {head}")


for _name in METHODS:
    app.command(_name)(_make_command(_name))
from oprd.cli.pivottrace_cmd import register as _register_pivottrace; _register_pivottrace(app)  # noqa: E402
