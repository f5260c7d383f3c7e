"""``oprd-select pivottrace``: three-way triage (annotate / weak / discard) calibrated on probes.

``oprd.cli.select_app`` registers it with :func:`register`.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from oprd.cli.errors import handle_errors
from oprd.cli.generated import Custom, command, config_parameters, config_values, option
from oprd.cli.pool_options import (
    AnswerKeyOpt, ConfigOpt, IdKeyOpt, JsonOpt, OverwriteOpt, PoolOpt, PromptKeyOpt, QuietOpt,
)
from oprd.selectors.pivottrace.config import PivotTraceConfig

OutOpt = Annotated[Optional[Path], typer.Option(
    "--out", help="Output dir; may not hold the pool or --config file. [default: runs/pivottrace]")]
LabelsOpt = Annotated[Optional[Path], typer.Option(
    "--probe-labels", help="JSONL of {id, answer} for probes without a pool answer (fill probes_to_label.jsonl).")]


def resolve(options: dict[str, Any]) -> PivotTraceConfig:
    """The run's config from parsed options: field defaults <- the ``--config`` YAML <- the flags given;
    ``--fractions`` implies ``--calib fractions``."""
    from oprd.cli.options import resolve_config

    flags = config_values(PivotTraceConfig, options, custom=CUSTOM)
    if flags["calib"] is None and flags["fractions"] is not None:
        flags["calib"] = "fractions"
    return resolve_config(PivotTraceConfig, options["config"], flags)


def _pivottrace(options: dict[str, Any]) -> None:
    """Triage the pool, or stop and print the command to continue once the probes are labeled."""
    with handle_errors():
        from oprd.data import load_pool
        from oprd.selectors.pipeline import check_selection_out
        from oprd.selectors.pivottrace import ProbeRequest, run_pivottrace

        resolved = resolve(options)
        pool, config, probe_labels = options["pool"], options["config"], options["probe_labels"]
        out_dir = options["out"] or Path("runs/pivottrace")
        check_selection_out(out_dir, {"--pool": pool, "--config": config, "--model": resolved.model,
                                      "--probe-labels": _foreign_labels(probe_labels, out_dir)},
                            overwrite=options["overwrite"])
        data = load_pool(pool, prompt_key=options["prompt_key"], answer_key=options["answer_key"],
                         id_key=options["id_key"])
        result = run_pivottrace(data, resolved, out_dir=out_dir, probe_labels=probe_labels,
                                progress=not options["quiet"])
        if isinstance(result, ProbeRequest):
            _report_request(result, _continue_command(options["ctx"], out_dir, result.path), out_dir,
                            options["json_output"])
        else:
            _report_triage(result, resolved, data.n, out_dir, options["json_output"])


def _foreign_labels(labels: Path | None, out: Path) -> Path | None:
    """The labels file, unless it is the probes file this command wrote into ``out`` (read back, never rewritten)."""
    from oprd.selectors.pivottrace import PROBES_TO_LABEL

    if labels is None or labels.name != PROBES_TO_LABEL:
        return labels
    try:
        return None if labels.expanduser().resolve().parent == out.expanduser().resolve() else labels
    except (OSError, RuntimeError):
        return labels


def _report_request(request, command: str, out: Path, json_output: bool) -> None:
    if json_output:
        typer.echo(json.dumps({"status": "needs_labels", "out": str(out), "probes_file": str(request.path),
                               "n_to_label": len(request.ids), "continue": command}))
        return
    typer.echo(f"{len(request.ids)} probes need gold answers: fill \"answer\" in {request.path}, then run:")
    typer.echo(command)


def _report_triage(triage, config, n_pool: int, out: Path, json_output: bool) -> None:
    selector = triage.selector
    counts = {name: selector.cuts_[f"n_{name}"] for name in ("annotate", "weak", "discard")}
    mean_rate = float(selector.probe_pass_rates_.mean())
    if json_output:
        typer.echo(json.dumps({"status": "done", "out": str(out), "method": "pivottrace", "n_pool": n_pool,
                               "score": config.score, "calib": config.calib, "buckets": counts,
                               "n_probes": len(selector.probes_), "probe_pass_rate": mean_rate}))
        return
    typer.echo(f"triaged {n_pool} items with pivottrace ({config.score}, {config.calib}) -> {out}")
    typer.echo("  ".join(f"{name}: {count}" for name, count in counts.items())
               + f"  (probes: {len(selector.probes_)}, mean probe pass rate {mean_rate:.2f})")


def _parse_fractions(text: str | None) -> list[float] | None:
    """``"0.293,0.421"`` -> [0.293, 0.421]; range checks happen in the selector."""
    if text is None:
        return None
    from oprd.errors import OprdInputError

    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 2:
        raise OprdInputError(f"--fractions must be two numbers annotate,discard like 0.293,0.421; got {text!r}")
    return values


def _continue_command(ctx: typer.Context, out: Path, labels: Path) -> str:
    """This command as typed (options given on the command line, in declaration order) plus the labels file."""
    argv = ["oprd-select", "pivottrace"]
    for param in ctx.command.params:
        if param.name == "probe_labels" or _source(ctx, param.name) != "COMMANDLINE":
            continue
        value = ctx.params[param.name]
        if isinstance(value, bool):
            flag = param.opts[0] if value else next(iter(param.secondary_opts), None)
            argv += [flag] if flag else []
        elif isinstance(value, (list, tuple)):
            argv += [part for item in value for part in (param.opts[0], str(item))]
        else:
            argv += [param.opts[0], str(value)]
    if "--out" not in argv:
        argv += ["--out", str(out)]
    return shlex.join(argv + ["--probe-labels", str(labels)])


def _source(ctx: typer.Context, name: str) -> str:
    """Where a parameter's value came from (COMMANDLINE, DEFAULT, ...), by name across click versions."""
    source = ctx.get_parameter_source(name)
    return source.name if source is not None else "DEFAULT"


#: PivotTraceConfig fields read from the flag their own way.
CUSTOM = {"fractions": Custom(parse=_parse_fractions), "output_format": Custom("--format")}

pivottrace = command(_pivottrace, [
    option("ctx", typer.Context),
    option("pool", PoolOpt),
    *config_parameters(PivotTraceConfig, custom=CUSTOM),
    option("out", OutOpt, None),
    option("probe_labels", LabelsOpt, None),
    option("prompt_key", PromptKeyOpt, "prompt"),
    option("answer_key", AnswerKeyOpt, "answer"),
    option("id_key", IdKeyOpt, "id"),
    option("config", ConfigOpt, None),
    option("json_output", JsonOpt, False),
    option("quiet", QuietOpt, False),
    option("overwrite", OverwriteOpt, False),
], """PivotTrace: rank by attention-pivot uncertainty, calibrate on annotated probes, route every item.

    Without gold answers for the probes it writes probes_to_label.jsonl and prints the command to continue.
    """)


def register(app: typer.Typer) -> None:
    """Add ``pivottrace`` to a Typer app (the ``oprd-select`` app)."""
    app.command("pivottrace")(pivottrace)
