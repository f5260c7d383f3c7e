"""``oprd models``: list and prepare the built-in offline models."""

from __future__ import annotations

import sys

import typer

from oprd.cli.errors import handle_errors

app = typer.Typer(help="Show and prepare built-in models (converted offline from PyPI wheels).", no_args_is_help=True,
                  add_completion=False)


@app.command("list")
def list_models() -> None:
    """List built-in model names, whether each is prepared, and where."""
    from oprd.models.builtin import BUILTIN_DESCRIPTIONS, builtin_names, model_dir
    from oprd.models.prepare import is_prepared

    for name in builtin_names():
        state = f"prepared at {model_dir(name)}" if is_prepared(name) else "not prepared (oprd models prepare NAME)"
        print(f"{name:24s} {BUILTIN_DESCRIPTIONS[name]}\n{'':24s} {state}")


@app.command("prepare")
def prepare(
    name: str = typer.Argument(..., help="A built-in name from `oprd models list`."),
    force: bool = typer.Option(False, "--force", help="Rebuild even if prepared."),
) -> None:
    """Download (from the package index), check and convert a built-in model once."""
    from rich.console import Console

    from oprd.models.prepare import prepare_builtin

    console = Console(stderr=True)
    with handle_errors(), console.status(f"preparing {name}") as status:
        path = prepare_builtin(name, force=force, report=lambda message: status.update(message))
    print(path, file=sys.stdout)
