"""``oprd-select pivottrace``: three-way triage (annotate / weak / discard) calibrated on probes.

``oprd.cli.select_app`` registers it with :func:`register`.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

from oprd.cli.errors import handle_errors
from oprd.cli.pool_options import (
    AnswerKeyOpt, ConfigOpt, IdKeyOpt, JsonOpt, ModelOpt, OverwriteOpt, PoolOpt, PromptKeyOpt, QuietOpt, TrustOpt,
)

OutOpt = Annotated[Optional[Path], typer.Option(
    "--out", help="Output dir; may not hold the pool or --config file. [default: runs/pivottrace]")]
ProbesOpt = Annotated[Optional[int], typer.Option(
    "--probes", help="Probes to annotate. [default: max(64, 2% of the pool), at most the pool]")]
LabelsOpt = Annotated[Optional[Path], typer.Option(
    "--probe-labels", help="JSONL of {id, answer} for probes without a pool answer (fill probes_to_label.jsonl).")]
TauLoOpt = Annotated[Optional[float], typer.Option(
    "--tau-lo", help="Annotate while the smoothed probe pass rate is <= this. [default: 0.5]")]
TauHiOpt = Annotated[Optional[float], typer.Option(
    "--tau-hi", help="Discard where the smoothed probe pass rate is >= this. [default: 0.9]")]
FractionsOpt = Annotated[Optional[str], typer.Option(
    "--fractions", help="Fixed annotate,discard shares such as 0.293,0.421 (implies --calib fractions).")]
ScoreOpt = Annotated[Optional[str], typer.Option(
    "--score", help="density | count | lexical | consistency | token-entropy | self-certainty. [default: density]")]
CalibOpt = Annotated[Optional[str], typer.Option(
    "--calib", help="threshold | pseudo_label | fractions. [default: threshold]")]
KOpt = Annotated[Optional[int], typer.Option("--k", help="Trajectories per prompt, scores averaged. [default: 1]")]
SamplesOpt = Annotated[Optional[int], typer.Option(
    "--probe-samples", help="Rollouts per probe at temperature 1.0. [default: 8]")]
AnnotateCapOpt = Annotated[Optional[float], typer.Option("--max-annotate-frac", help="Cap on the annotated share.")]
DiscardCapOpt = Annotated[Optional[float], typer.Option("--max-discard-frac", help="Cap on the discarded share.")]
TokensOpt = Annotated[Optional[int], typer.Option(
    "--max-new-tokens", help="Max new tokens per rollout. [default: 512]")]
BatchOpt = Annotated[Optional[int], typer.Option("--batch-size", help="Sequences per generation batch. [default: 8]")]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", help="Sampling and probe-choice seed. [default: 0]")]
CacheOpt = Annotated[Optional[str], typer.Option(
    "--cache-dir", help="Rollout and signal cache. [default: $OPRD_CACHE/pivottrace]")]


def pivottrace(
    ctx: typer.Context,
    pool: PoolOpt,
    out: OutOpt = None,
    probes: ProbesOpt = None,
    probe_labels: LabelsOpt = None,
    tau_lo: TauLoOpt = None,
    tau_hi: TauHiOpt = None,
    fractions: FractionsOpt = None,
    score: ScoreOpt = None,
    calib: CalibOpt = None,
    k: KOpt = None,
    probe_samples: SamplesOpt = None,
    max_annotate_frac: AnnotateCapOpt = None,
    max_discard_frac: DiscardCapOpt = None,
    model: ModelOpt = None,
    max_new_tokens: TokensOpt = None,
    batch_size: BatchOpt = None,
    seed: SeedOpt = None,
    prompt_key: PromptKeyOpt = "prompt",
    answer_key: AnswerKeyOpt = "answer",
    id_key: IdKeyOpt = "id",
    config: ConfigOpt = None,
    cache_dir: CacheOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    trust_remote_code: TrustOpt = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """PivotTrace: rank by attention-pivot uncertainty, calibrate on annotated probes, route every item.

    Without gold answers for the probes it writes probes_to_label.jsonl and prints the command to continue.
    """
    with handle_errors():
        from oprd.cli.options import resolve_config
        from oprd.data import load_pool
        from oprd.selectors.pipeline import check_selection_out
        from oprd.selectors.pivottrace import PivotTraceConfig, ProbeRequest, run_pivottrace

        flags = dict(
            probes=probes, tau_lo=tau_lo, tau_hi=tau_hi, fractions=_parse_fractions(fractions), score=score,
            calib=calib or ("fractions" if fractions is not None else None), k=k, probe_samples=probe_samples,
            max_annotate_frac=max_annotate_frac, max_discard_frac=max_discard_frac, model=model,
            max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed, cache_dir=cache_dir,
            trust_remote_code=trust_remote_code or None,
        )
        resolved = resolve_config(PivotTraceConfig, config, flags)
        out_dir = out or Path("runs/pivottrace")
        check_selection_out(out_dir, {"--pool": pool, "--config": config, "--model": resolved.model,
                                      "--probe-labels": _foreign_labels(probe_labels, out_dir)}, overwrite=overwrite)
        data = load_pool(pool, prompt_key=prompt_key, answer_key=answer_key, id_key=id_key)
        result = run_pivottrace(data, resolved, out_dir=out_dir, probe_labels=probe_labels, progress=not quiet)
        if isinstance(result, ProbeRequest):
            _report_request(result, _continue_command(ctx, out_dir, result.path), out_dir, json_output)
        else:
            _report_triage(result, resolved, data.n, out_dir, json_output)


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
        if value is True:
            argv.append(param.opts[0])
        elif value is not False:
            argv += [param.opts[0], str(value)]
    if "--out" not in argv:
        argv += ["--out", str(out)]
    return shlex.join(argv + ["--probe-labels", str(labels)])


def _source(ctx: typer.Context, name: str) -> str:
    """Where a parameter's value came from (COMMANDLINE, DEFAULT, ...), by name across click versions."""
    source = ctx.get_parameter_source(name)
    return source.name if source is not None else "DEFAULT"


def register(app: typer.Typer) -> None:
    """Add ``pivottrace`` to a Typer app (the ``oprd-select`` app)."""
    app.command("pivottrace")(pivottrace)
