"""make_problems (reasoning-gym, CHAMP) and the ``oprd data make`` command."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from oprd.cli.data_app import app
from oprd.data import load_pool, make_problems
from oprd.errors import OprdInputError


def test_rows_ids_and_even_split():
    rows = make_problems("basic_arithmetic,chain_sum", 5, seed=3)
    assert [row["source"] for row in rows] == ["basic_arithmetic"] * 3 + ["chain_sum"] * 2
    assert [row["id"] for row in rows[:3]] == ["basic_arithmetic-3-0", "basic_arithmetic-3-1", "basic_arithmetic-3-2"]
    assert rows[3]["id"] == "chain_sum-3-0"
    for row in rows:
        assert set(row) == {"id", "prompt", "answer", "source"}
        assert isinstance(row["prompt"], str) and row["prompt"]
        assert isinstance(row["answer"], str) and row["answer"]


def test_same_seed_same_rows_other_seed_other_rows():
    first = make_problems("gsm_symbolic, basic_arithmetic", 6, seed=0)
    assert first == make_problems("gsm_symbolic,basic_arithmetic", 6, seed=0)
    other = make_problems("gsm_symbolic,basic_arithmetic", 6, seed=1)
    assert [r["prompt"] for r in first] != [r["prompt"] for r in other]


def test_chain_sum_answers_are_right():
    for row in make_problems("chain_sum", 10, seed=0):
        expression = row["prompt"].split(":")[-1].rstrip("= ").strip()
        assert str(eval(expression)) == row["answer"]


def test_champ_short_answers_seeded():
    rows = make_problems("champ", 8, seed=0)
    assert len(rows) == 8 == len({row["id"] for row in rows})
    assert all(row["id"].startswith("champ-P_") and row["source"] == "champ" for row in rows)
    assert all(len(row["answer"]) <= 12 and " " not in row["answer"] and "," not in row["answer"] for row in rows)
    assert rows == make_problems("champ", 8, seed=0)
    assert rows != make_problems("champ", 8, seed=1)


def test_unknown_task_lists_known_ones():
    with pytest.raises(OprdInputError) as info:
        make_problems("gsm_symbolic,no_such_task", 4, seed=0)
    message = str(info.value)
    assert "unknown task 'no_such_task'" in message
    assert "champ" in message and "gsm_symbolic" in message and "chain_sum" in message


@pytest.mark.parametrize(("task", "n", "match"), [("", 3, "no task"), ("chain_sum,chain_sum", 2, "twice"),
                                                  ("chain_sum", 0, "'n' parameter"), ("champ", 10_000, "at most")])
def test_bad_arguments(task, n, match):
    with pytest.raises(OprdInputError, match=match):
        make_problems(task, n, seed=0)


def test_cli_make_writes_a_loadable_pool(tmp_path):
    out = tmp_path / "sub" / "pool.jsonl"
    result = CliRunner().invoke(app, ["make", "--task", "chain_sum,basic_arithmetic", "--n", "7", "--seed", "2",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.strip() == f"wrote 7 problems (chain_sum 4, basic_arithmetic 3) to {out}"
    pool = load_pool(out)
    assert pool.n == pool.n_labeled == 7
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written == make_problems("chain_sum,basic_arithmetic", 7, 2)


def test_cli_unknown_task_exits_2_with_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("OPRD_DEBUG", raising=False)
    out = tmp_path / "pool.jsonl"
    result = CliRunner().invoke(app, ["make", "--task", "nope", "--n", "3", "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown task 'nope'; known tasks: champ, ")
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_cli_debug_reraises(tmp_path, monkeypatch):
    monkeypatch.setenv("OPRD_DEBUG", "1")
    result = CliRunner().invoke(app, ["make", "--task", "nope", "--n", "3", "--out", str(tmp_path / "p.jsonl")])
    assert isinstance(result.exception, OprdInputError)
