"""``oprd``: the umbrella command."""

from __future__ import annotations

import typer

from oprd.cli import data_app, distill_app, eval_app, models_app, select_app, train_app

app = typer.Typer(help="oprd: hidden-state data selection and semi-supervised RLVR for LLM reasoning.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(select_app.app, name="select")
app.add_typer(models_app.app, name="models")
app.add_typer(data_app.app, name="data")
app.add_typer(distill_app.app, name="distill")
app.command("eval")(eval_app.evaluate)
app.command("train")(train_app.train)
