"""``oprd data corrupt`` through Typer's CliRunner, on a tiny app that registers the command."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from oprd.cli.corrupt_cmd import register
from oprd.rlvr.methods.olr.refiner import NOISY_LABEL

app = typer.Typer()


@app.callback()
def _group() -> None:
    """Keeps ``corrupt`` a named subcommand."""


register(app)


@pytest.fixture
def pool(tmp_path):
    path = tmp_path / "pool.jsonl"
    rows = [{"id": i, "prompt": f"q{i}", "answer": i * 2} for i in range(8)] + [{"id": 8, "prompt": "u"}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("OPRD_DEBUG", raising=False)


def test_corrupt_writes_a_noisy_copy(pool, tmp_path):
    before = pool.read_bytes()
    out = tmp_path / "out" / "noisy.jsonl"
    args = ["--rho", "0.5", "--mode", "active", "--seed", "3"]
    result = CliRunner().invoke(app, ["corrupt", str(pool), str(out), *args])
    assert result.exit_code == 0, result.output
    assert pool.read_bytes() == before
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    noisy = [row for row in rows if row.get("noise") == "active"]
    assert len(rows) == 9 and len(noisy) == 4
    assert all(row["answer"] == NOISY_LABEL and row["original_answer"] == row["id"] * 2 for row in noisy)
    assert rows[8] == {"id": 8, "prompt": "u"}
    assert result.stderr.strip() == f"corrupted 4 of 8 labeled rows (active, rho=0.5, seed 3); wrote 9 rows to {out}"
    again = tmp_path / "again.jsonl"
    CliRunner().invoke(app, ["corrupt", str(pool), str(again), *args])
    assert again.read_bytes() == out.read_bytes()
    assert not list(out.parent.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rho", "1.5"],
         "error: The 'rho' parameter of oprd data corrupt must be a float in [0, 1]. Got 1.5 instead."),
        (["--rho", "0.5", "--mode", "loud"], "error: The 'mode' parameter of oprd data corrupt must be one of"),
        (["--rho", "0.5", "--answer-key", "solution"], "error: no row has an answer under 'solution'"),
    ],
)
def test_bad_input_exits_2_with_one_line(pool, tmp_path, args, message):
    out = tmp_path / "noisy.jsonl"
    result = CliRunner().invoke(app, ["corrupt", str(pool), str(out), *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert not out.exists()


def test_output_must_differ_from_input_and_be_jsonl(pool, tmp_path):
    before = pool.read_bytes()
    same = CliRunner().invoke(app, ["corrupt", str(pool), str(pool), "--rho", "0.5"])
    assert same.exit_code == 2 and "same file as IN" in same.stderr
    assert pool.read_bytes() == before
    parquet = CliRunner().invoke(app, ["corrupt", str(pool), str(tmp_path / "x.parquet"), "--rho", "0.5"])
    assert parquet.exit_code == 2 and "must be a .jsonl file" in parquet.stderr


def test_missing_input_file(tmp_path):
    missing, out = str(tmp_path / "nope.jsonl"), str(tmp_path / "o.jsonl")
    result = CliRunner().invoke(app, ["corrupt", missing, out, "--rho", "0.1"])
    assert result.exit_code == 2 and "does not exist" in result.stderr
