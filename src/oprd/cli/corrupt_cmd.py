"""``oprd data corrupt``: write a copy of a pool with simulated label noise (for OLR experiments).

The ``oprd data`` app registers it with :func:`register`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from oprd.cli.errors import handle_errors


def corrupt(
    input_path: Path = typer.Argument(..., metavar="IN",
                                      help="Labeled pool (.jsonl, .json or .parquet); never modified."),
    output_path: Path = typer.Argument(..., metavar="OUT", help="Output .jsonl file (written atomically)."),
    rho: float = typer.Option(..., "--rho", help="Share of labeled rows to corrupt, in [0, 1]."),
    mode: str = typer.Option("inactive", "--mode", help="inactive (a label no rollout matches) | active (the "
                             "trainer draws a wrong answer from each visit's rollouts)."),
    seed: int = typer.Option(0, "--seed", help="Which rows are corrupted; the same seed gives the same file."),
    answer_key: str = typer.Option("answer", "--answer-key", help="Answer column, dotted for nested fields."),
    prompt_key: str = typer.Option("prompt", "--prompt-key", help="Prompt column, dotted for nested fields."),
    id_key: str = typer.Option("id", "--id-key", help="Id column (the row number when absent)."),
) -> None:
    """Corrupt a share RHO of the labels; the true label stays in `original_answer`, the kind in `noise`."""
    with handle_errors():
        import json

        from oprd.data import atomic_write_text, load_pool
        from oprd.data.jsonsafe import to_jsonable
        from oprd.errors import OprdInputError
        from oprd.rlvr.methods.olr.refiner import corrupt_rows, validate_noise

        validate_noise(rho, mode, "oprd data corrupt")
        if output_path.suffix.lower() not in (".jsonl", ".ndjson"):
            raise OprdInputError(
                f"OUT {output_path} must be a .jsonl file (the corrupted pool is written as JSON Lines)"
            )
        from oprd.data.outputs import check_output_file

        check_output_file(output_path, {"IN": input_path}, flag="OUT")
        pool = load_pool(input_path, prompt_key=prompt_key, answer_key=answer_key, id_key=id_key)
        rows = corrupt_rows(pool.rows, rho, mode=mode, seed=seed, answer_key=answer_key)
        atomic_write_text(output_path, "".join(json.dumps(to_jsonable(row), ensure_ascii=False) + "\n" for row in rows))
        n_noisy = sum(row.get("noise") is not None for row in rows)
        typer.echo(f"corrupted {n_noisy} of {pool.n_labeled} labeled rows ({mode}, rho={rho}, seed {seed}); "
                   f"wrote {len(rows)} rows to {output_path}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``corrupt`` to a Typer app (the ``oprd data`` group)."""
    app.command("corrupt")(corrupt)
