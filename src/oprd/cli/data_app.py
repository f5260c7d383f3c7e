"""``oprd data``: make problem pools offline."""

from __future__ import annotations

from pathlib import Path

import typer

from oprd.cli.corrupt_cmd import register as register_corrupt
from oprd.cli.errors import handle_errors

app = typer.Typer(help="Make problem pools offline (reasoning-gym tasks, CHAMP).", no_args_is_help=True,
                  add_completion=False)


@app.callback()
def _group() -> None:
    """Keeps ``make`` a named subcommand: a Typer app with one command and no callback runs it directly."""


@app.command("make")
def make(
    task: str = typer.Option(..., "--task", help="Task name or comma list (e.g. gsm_symbolic,basic_arithmetic,champ)."),
    n: int = typer.Option(100, "--n", help="Number of problems, split evenly over the tasks."),
    seed: int = typer.Option(0, "--seed", help="Generator seed; the same seed gives the same pool."),
    out: Path = typer.Option(..., "--out", help="Output .jsonl file (written atomically)."),
    option: list[str] = typer.Option([], "--option", help="Generator config KEY=VALUE (repeatable), e.g. max_terms=3."),
) -> None:
    """Write a labeled pool of generated problems to a JSON Lines file."""
    with handle_errors():
        import json
        from collections import Counter

        from oprd.data.atomic import atomic_write_text
        from oprd.data.make import make_problems
        from oprd.errors import OprdInputError

        from oprd.data.outputs import check_output_file

        check_output_file(out, {})
        try:
            rows = make_problems(task, n, seed, _parse_options(option))
        except ModuleNotFoundError as error:
            missing = (error.name or "").split(".")[0]
            if missing not in _DATA_EXTRA:
                raise
            raise OprdInputError(f"oprd data make needs the {_DATA_EXTRA[missing]} package, which is not installed; "
                                 "install the data extra: pip install 'oprd[data]'") from None
        atomic_write_text(out, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
        counts = ", ".join(f"{source} {count}" for source, count in Counter(row["source"] for row in rows).items())
        typer.echo(f"wrote {len(rows)} problems ({counts}) to {out}", err=True)


register_corrupt(app)

#: module name -> the package of the ``data`` extra that provides it
_DATA_EXTRA = {"reasoning_gym": "reasoning-gym", "champ_dataset": "champ-dataset"}


def _parse_options(pairs: list[str]) -> dict:
    """``["max_terms=3", "allow_negation=false"]`` -> ``{"max_terms": 3, "allow_negation": False}`` (YAML scalars)."""
    import yaml

    from oprd.errors import OprdInputError

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise OprdInputError(f"--option {pair!r} is not KEY=VALUE; write e.g. --option max_terms=3")
        options[key.strip()] = yaml.safe_load(value)
    return options
