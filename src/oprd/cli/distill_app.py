"""``oprd distill``: fit the Bridge that lets a student distil from a teacher of another width or depth."""

from __future__ import annotations

import json
from pathlib import Path
import typer

from oprd.cli.errors import handle_errors

app = typer.Typer(help="On-policy representation distillation helpers (docs/methods/oprd.md).", no_args_is_help=True,
                  add_completion=False)


@app.command("fit-bridge")
def fit_bridge(
    student: str = typer.Option(..., "--student", help="Student model: built-in name, HF dir or hub id."),
    teacher: str = typer.Option(..., "--teacher", help="Teacher model: built-in name, HF dir or hub id."),
    data: Path = typer.Option(..., "--data", help="Prompts (a pool file) for the student's rollouts."),
    out: Path = typer.Option(..., "--out", help="Bridge file to write (safetensors)."),
    rank: int = typer.Option(8, "--rank", help="Projection rank r (8 cross-architecture, 4 cross-tokenizer)."),
    layers: str = typer.Option("all", "--layers", help="Student layers: all | last | even | odd | 4,8,12."),
    layer_map: str = typer.Option("proportional", "--layer-map", help="proportional | identity."),
    positions: str = typer.Option("last_k:2000", "--positions", help="Response positions, as in training."),
    max_prompts: int = typer.Option(1000, "--max-prompts", help="Prompts read from --data."),
    samples: int = typer.Option(2, "--samples", help="Rollouts per prompt."),
    max_new_tokens: int = typer.Option(512, "--max-new-tokens", help="Rollout length limit."),
    tokens_per_rollout: int = typer.Option(8, "--tokens-per-rollout", help="Positions kept per rollout (random)."),
    solver: str = typer.Option("adam", "--solver", help="Student projector: adam (epochs, as published) | lstsq."),
    epochs: int = typer.Option(20, "--epochs", help="Adam epochs over the paired states."),
    lr: float = typer.Option(1e-2, "--lr", help="Adam learning rate (on standardised states)."),
    batch_size: int = typer.Option(8, "--batch-size", help="Sequences per generation/forward batch."),
    seed: int = typer.Option(0, "--seed", help="Seed for sampling and position choice."),
    prompt_key: str = typer.Option("prompt", "--prompt-key", help="Dotted key of the prompt column."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Fit the teacher PCA basis and the student projector with both models frozen; save the bridge."""
    with handle_errors():
        from oprd.distill.bridge_pipeline import BridgeFitConfig
        from oprd.distill.bridge_pipeline import fit_bridge as run_fit

        from oprd.data.outputs import check_output_file

        check_output_file(out, {"--data": data, "--student": student, "--teacher": teacher})
        config = BridgeFitConfig(rank=rank, layers=layers, layer_map=layer_map, positions=positions,
                                 max_prompts=max_prompts, samples_per_prompt=samples, max_new_tokens=max_new_tokens,
                                 tokens_per_rollout=tokens_per_rollout, solver=solver, epochs=epochs, lr=lr,
                                 batch_size=batch_size, seed=seed, prompt_key=prompt_key)
        result = run_fit(student, teacher, str(data), config, progress=not quiet)
        path = result.bridge.save(out)
        summary = {"out": str(path), "rank": rank, "pairs": [list(p) for p in result.bridge.pairs],
                   "rollouts": result.n_rollouts, "positions": result.n_positions,
                   "r2_mean": sum(result.r2) / len(result.r2), "r2_min": min(result.r2)}
        print(json.dumps(summary) if json_output else
              f"bridge -> {path}  rank {rank}, {len(result.bridge.pairs)} layer pairs, {result.n_positions} positions "
              f"from {result.n_rollouts} rollouts, R^2 mean {summary['r2_mean']:.3f} (min {summary['r2_min']:.3f})")
