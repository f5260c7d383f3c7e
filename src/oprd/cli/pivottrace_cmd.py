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

SCORE_HELP = "density | count | lexical | consistency | token-entropy | self-certainty"


def pivottrace(
    pool: Annotated[Path, typer.Option("--pool", help="Pool file: .jsonl, .json or .parquet.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Output dir. [default: runs/pivottrace]")] = None,
    probes: Annotated[Optional[int], typer.Option("--probes", help="Probes to annotate. [default: max(64, 2% of pool), capped at the pool]")] = None,
    probe_labels: Annotated[Optional[Path], typer.Option("--probe-labels", help="JSONL of {id, answer} for probes without a pool answer (fill probes_to_label.jsonl).")] = None,
    tau_lo: Annotated[Optional[float], typer.Option("--tau-lo", help="Annotate while smoothed pass rate <= this. [default: 0.5]")] = None,
    tau_hi: Annotated[Optional[float], typer.Option("--tau-hi", help="Discard where smoothed pass rate >= this. [default: 0.9]")] = None,
    fractions: Annotated[Optional[str], typer.Option("--fractions", help="Fixed annotate,discard shares, e.g. 0.293,0.421 (implies --calib fractions).")] = None,
    score: Annotated[Optional[str], typer.Option("--score", help=f"Uncertainty score: {SCORE_HELP}. [default: density]")] = None,
    calib: Annotated[Optional[str], typer.Option("--calib", help="threshold | pseudo_label | fractions. [default: threshold]")] = None,
    k: Annotated[Optional[int], typer.Option("--k", help="Trajectories per prompt (pivot scores are averaged). [default: 1]")] = None,
    probe_samples: Annotated[Optional[int], typer.Option("--probe-samples", help="Rollouts per probe at temperature 1.0. [default: 8]")] = None,
    max_annotate_frac: Annotated[Optional[float], typer.Option("--max-annotate-frac", help="Cap on the annotated share.")] = None,
    max_discard_frac: Annotated[Optional[float], typer.Option("--max-discard-frac", help="Cap on the discarded share.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Built-in name, HF dir or hub id. [default: smollm2-135m-instruct]")] = None,
    max_new_tokens: Annotated[Optional[int], typer.Option("--max-new-tokens", help="Max new tokens per rollout. [default: 512]")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Sequences per generation batch. [default: 8]")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Sampling and probe-choice seed. [default: 0]")] = None,
    prompt_key: Annotated[str, typer.Option("--prompt-key", help="Dotted key of the prompt column.")] = "prompt",
    answer_key: Annotated[str, typer.Option("--answer-key", help="Dotted key of the answer column (may be missing).")] = "answer",
    id_key: Annotated[str, typer.Option("--id-key", help="Dotted key of the id column (row number if missing).")] = "id",
    config: Annotated[Optional[Path], typer.Option("--config", help="YAML file of options; flags override it.")] = None,
    cache_dir: Annotated[Optional[str], typer.Option("--cache-dir", help="Rollout/signal cache dir. [default: $OPRD_CACHE/pivottrace]")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow custom code from the model repo.")] = False,
) -> None:
    """PivotTrace: rank by attention-pivot uncertainty, calibrate on annotated probes, route every item."""
    with handle_errors():
        flags: dict[str, Any] = dict(
            probes=probes, tau_lo=tau_lo, tau_hi=tau_hi, fractions=_parse_fractions(fractions), score=score,
            calib=calib or ("fractions" if fractions is not None else None), k=k, probe_samples=probe_samples,
            max_annotate_frac=max_annotate_frac, max_discard_frac=max_discard_frac, model=model,
            max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed, cache_dir=cache_dir,
            trust_remote_code=trust_remote_code or None,
        )
        given = [("--probes", probes), ("--tau-lo", tau_lo), ("--tau-hi", tau_hi), ("--fractions", fractions),
                 ("--score", score), ("--calib", calib), ("--k", k), ("--probe-samples", probe_samples),
                 ("--max-annotate-frac", max_annotate_frac), ("--max-discard-frac", max_discard_frac),
                 ("--model", model), ("--max-new-tokens", max_new_tokens), ("--batch-size", batch_size),
                 ("--seed", seed), ("--prompt-key", None if prompt_key == "prompt" else prompt_key),
                 ("--answer-key", None if answer_key == "answer" else answer_key),
                 ("--id-key", None if id_key == "id" else id_key), ("--config", config), ("--cache-dir", cache_dir)]
        _run(pool, out or Path("runs/pivottrace"), probe_labels, config, flags, (prompt_key, answer_key, id_key),
             given + [("--trust-remote-code", True if trust_remote_code else None), ("--quiet", True if quiet else None)],
             json_output, quiet)


def _run(pool_path: Path, out: Path, probe_labels, config_path, flags, keys, given, json_output: bool, quiet: bool) -> None:
    from oprd.cli.options import resolve_config
    from oprd.data import load_pool
    from oprd.selectors.pivottrace_pipeline import PivotTraceConfig, ProbeRequest, run_pivottrace

    config = resolve_config(PivotTraceConfig, config_path, flags)
    pool = load_pool(pool_path, prompt_key=keys[0], answer_key=keys[1], id_key=keys[2])
    result = run_pivottrace(pool, config, out_dir=out, probe_labels=probe_labels, progress=not quiet)
    if isinstance(result, ProbeRequest):
        command = _continue_command(pool_path, out, given, result.path)
        if json_output:
            typer.echo(json.dumps({"status": "needs_labels", "out": str(out), "probes_file": str(result.path),
                                   "n_to_label": len(result.ids), "continue": command}))
        else:
            typer.echo(f"{len(result.ids)} probes need gold answers: fill \"answer\" in {result.path}, then run:")
            typer.echo(command)
        return
    counts = {name: result.selector.cuts_[f"n_{name}"] for name in ("annotate", "weak", "discard")}
    if json_output:
        typer.echo(json.dumps({"status": "done", "out": str(out), "method": "pivottrace", "n_pool": pool.n,
                               "score": config.score, "calib": config.calib, "buckets": counts,
                               "n_probes": len(result.selector.probes_),
                               "probe_pass_rate": float(result.selector.probe_pass_rates_.mean())}))
    else:
        typer.echo(f"triaged {pool.n} items with pivottrace ({config.score}, {config.calib}) -> {out}")
        typer.echo("  ".join(f"{name}: {count}" for name, count in counts.items())
                   + f"  (probes: {len(result.selector.probes_)}, mean pass rate "
                   f"{result.selector.probe_pass_rates_.mean():.2f})")


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


def _continue_command(pool: Path, out: Path, given: list[tuple[str, Any]], labels: Path) -> str:
    """The same command with the labels file added (flags that were given, in a fixed order)."""
    argv = ["oprd-select", "pivottrace", "--pool", str(pool), "--out", str(out)]
    for flag, value in given:
        if value is True:
            argv.append(flag)
        elif value is not None:
            argv += [flag, str(value)]
    return shlex.join(argv + ["--probe-labels", str(labels)])


def register(app: typer.Typer) -> None:
    """Add ``pivottrace`` to a Typer app (the ``oprd-select`` app)."""
    app.command("pivottrace")(pivottrace)
