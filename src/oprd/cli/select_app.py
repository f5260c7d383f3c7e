"""``oprd-select``: one subcommand per selection method, all with the same options."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from oprd.cli.errors import handle_errors
from oprd.cli.generated import Custom, command, config_parameters, config_values, option
from oprd.cli.pool_options import (
    AnswerKeyOpt, ConfigOpt, IdKeyOpt, JsonOpt, OverwriteOpt, PoolConfigOpt, PoolOpt, PromptKeyOpt, QuietOpt, SplitOpt,
)
from oprd.selectors.methods import METHODS
from oprd.selectors.pipeline import SelectionConfig

app = typer.Typer(
    help="Select a budget of prompts from an unlabeled pool (SHIFT and baselines). "
    "Writes the subset (in the pool's format, or --format), manifest.json (last) and selection.png to --out.",
    no_args_is_help=True,
    add_completion=False,
)

#: SelectionConfig fields spelled their own way; ``method`` is the subcommand, not a flag.
CUSTOM = {"output_format": Custom("--format")}
SKIP = ("method",)

OutOpt = Annotated[Optional[Path], typer.Option(
    "--out", help="Output dir; may not hold the pool or --config file. [default: runs/<method>-<budget>]")]


def resolve(method: str, options: dict[str, Any]) -> SelectionConfig:
    """The selection config from parsed options: field defaults <- the ``--config`` YAML <- the flags given."""
    from oprd.cli.options import resolve_config

    flags = config_values(SelectionConfig, options, custom=CUSTOM)
    return resolve_config(SelectionConfig, options["config"], {**flags, "method": method})


def _run(method: str, options: dict[str, Any]) -> None:
    """Select with ``method`` on the pool, write the output dir and print a summary."""
    from oprd.data import load_pool
    from oprd.selectors.pipeline import check_selection_out, run_selection

    config = resolve(method, options)
    pool_path, overwrite = options["pool"], options["overwrite"]
    out_dir = options["out"] or Path("runs") / f"{method}-{config.budget}"
    check_selection_out(out_dir, {"--pool": pool_path, "--config": options["config"], "--model": config.model},
                        overwrite=overwrite)
    pool = load_pool(pool_path, prompt_key=options["prompt_key"], answer_key=options["answer_key"],
                     id_key=options["id_key"], split=options["split"], config_name=options["pool_config"])
    selection = run_selection(pool, config, out_dir=out_dir, progress=not options["quiet"], overwrite=overwrite)
    if selection is None:
        print(f"shard {config.shard_index} done; other shards still running, select again when they finish",
              file=sys.stderr)
        return
    summary = {"out": str(out_dir), "method": method, "budget": selection.budget, "n_pool": pool.n,
               "ids": selection.ids, **selection.extras}
    if options["json_output"]:
        print(json.dumps(summary))
    else:
        head = ", ".join(selection.ids[:10]) + (" ..." if len(selection.ids) > 10 else "")
        print(f"selected {selection.budget} of {pool.n} with {method} -> {out_dir}")
        print(f"ids: {head}")


def _make_command(method: str):
    """The ``oprd-select METHOD`` command: pool options, then one flag per SelectionConfig field."""

    def run(options: dict[str, Any]) -> None:
        with handle_errors():
            _run(method, options)

    return command(run, [
        option("pool", PoolOpt),
        *config_parameters(SelectionConfig, skip=SKIP, custom=CUSTOM),
        option("out", OutOpt, None),
        option("prompt_key", PromptKeyOpt, "prompt"),
        option("answer_key", AnswerKeyOpt, "answer"),
        option("id_key", IdKeyOpt, "id"),
        option("split", SplitOpt, None),
        option("pool_config", PoolConfigOpt, None),
        option("config", ConfigOpt, None),
        option("json_output", JsonOpt, False),
        option("quiet", QuietOpt, False),
        option("overwrite", OverwriteOpt, False),
    ], METHODS[method].help + ".")


for _name in METHODS:
    app.command(_name)(_make_command(_name))
from oprd.cli.pivottrace_cmd import register as _register_pivottrace; _register_pivottrace(app)  # noqa: E402
