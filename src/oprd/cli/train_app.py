"""``oprd-train``: GRPO on an ``oprd-select`` output dir or a data file.

Its options are generated from :class:`~oprd.rlvr.config.GRPOConfig` (``oprd.cli.generated``): one flag
per field, with the field's help and default; :data:`CUSTOM` lists the fields spelled their own way.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from oprd.cli.errors import handle_errors
from oprd.cli.generated import Custom, command, config_parameters, config_values, option
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.methods import parse_option_flags
from oprd.rlvr.methods.distill.options import coef_flag, reward_funcs_flag

app = typer.Typer(help="Train a model with GRPO on selected or mixed labeled/unlabeled prompts.",
                  add_completion=False)

#: Fields whose flag is not ``--field-name`` or whose value is read from a string its own way.
CUSTOM = {
    "reward_funcs": Custom("--reward-func"),
    "vllm_options": Custom("--vllm-option", functools.partial(
        parse_option_flags, flag="--vllm-option", example="gpu_memory_utilization=0.4")),
    "unlabeled_options": Custom("--unlabeled-option", parse_option_flags),
    "distill_coef": Custom(parse=coef_flag),
    "grader_answer_extraction": Custom("--answer-extraction"),
    "grader_multi_box": Custom("--multi-box"),
    "grader_strip_reasoning": Custom("--strip-reasoning"),
    "grader_float_rounding": Custom("--float-rounding"),
    "grader_unreadable_gold": Custom("--unreadable-gold"),
}

ConfigOpt = Annotated[Optional[Path], typer.Option(
    "--config", help="YAML with any GRPOConfig key (values checked against its types); flags override it. "
    "A config naming reward_funcs runs that code.")]
RewardOpt = Annotated[Optional[str], typer.Option(
    "--reward", help="none: no verifiable reward, distillation loss only (reward_funcs none).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bar.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the final metrics as JSON.")]


def resolve(options: dict[str, Any]) -> GRPOConfig:
    """The run's config from parsed options: field defaults <- the ``--config`` YAML <- the flags given."""
    from oprd.cli.options import resolve_config

    flags = config_values(GRPOConfig, options, custom=CUSTOM)
    flags["reward_funcs"] = reward_funcs_flag(options["reward"], flags["reward_funcs"])
    return resolve_config(GRPOConfig, options["config"], flags)


def _train(options: dict[str, Any]) -> None:
    """Run GRPO with the resolved config and print a summary."""
    with handle_errors():
        from oprd.data.outputs import check_output_dir
        from oprd.rlvr.trainer import GRPOTrainer

        resolved = resolve(options)
        check_output_dir(resolved.out, {"--config": options["config"]})  # the trainer checks its other inputs
        trainer = GRPOTrainer(resolved, progress=not options["quiet"])
        metrics = trainer.train()
        if trainer.dist.is_main:
            summary = {"out": resolved.out, "step": trainer.step,
                       **{k: v for k, v in metrics.items() if k.startswith(("reward/", "eval/"))}}
            print(json.dumps(summary) if options["json_output"] else
                  f"trained to step {trainer.step} -> {resolved.out}  " +
                  "  ".join(f"{k} {v:.3f}" for k, v in summary.items() if isinstance(v, float)))


train = command(_train, [
    *config_parameters(GRPOConfig, custom=CUSTOM),
    option("reward", RewardOpt, None),
    option("config", ConfigOpt, None),
    option("quiet", QuietOpt, False),
    option("json_output", JsonOpt, False),
], "Run GRPO. Every option can also come from --config (YAML keys = GRPOConfig fields); flags override it.")
app.command("train")(train)
