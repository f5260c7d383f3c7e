"""Option types shared by every ``oprd-select`` command that are not config fields (those are generated)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

PoolOpt = Annotated[Path, typer.Option(
    "--pool", help="Pool: a .jsonl, .json or .parquet file, a datasets folder (save_to_disk, or parquet/json shards), "
    "or a Hub dataset id owner/name (with --split).")]
SplitOpt = Annotated[Optional[str], typer.Option(
    "--split", help="Split of a save_to_disk DatasetDict folder, a folder of <split>-* shards, or a Hub dataset.")]
PoolConfigOpt = Annotated[Optional[str], typer.Option(
    "--pool-config", help="Config (subset) name of a Hub dataset, as datasets.load_dataset(id, NAME).")]
PromptKeyOpt = Annotated[str, typer.Option("--prompt-key", help="Dotted key of the prompt column.")]
AnswerKeyOpt = Annotated[str, typer.Option("--answer-key", help="Dotted key of the answer column (may be missing).")]
IdKeyOpt = Annotated[str, typer.Option("--id-key", help="Dotted key of the id column (row number if missing).")]
ConfigOpt = Annotated[Optional[Path], typer.Option(
    "--config", help="YAML file of options (each value checked against its declared type); flags override it.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bars.")]
OverwriteOpt = Annotated[bool, typer.Option(
    "--overwrite", help="Replace a finished result (manifest.json) already in --out; without it that is an error.")]
