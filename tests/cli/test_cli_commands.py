import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oprd.cli import main, select_app, train_app

runner = CliRunner()
POOL = Path(__file__).resolve().parents[2] / "examples" / "pool.jsonl"

HELP_TARGETS = [
    (main.app, []), (main.app, ["select"]), (main.app, ["models"]), (main.app, ["data"]), (main.app, ["eval"]),
    (main.app, ["train"]), (main.app, ["models", "list"]), (main.app, ["models", "prepare"]),
    (main.app, ["data", "make"]), (main.app, ["data", "corrupt"]), (train_app.app, []),
    *[(select_app.app, [name]) for name in ("shift", "random", "utility", "kcenter", "kmeans", "qppl", "appl",
                                            "sc-entropy", "token-entropy", "self-certainty")],
]


@pytest.mark.parametrize("app, args", HELP_TARGETS, ids=lambda x: " ".join(x) if isinstance(x, list) else "")
def test_every_command_has_working_help(app, args):
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_select_shift_end_to_end_on_the_tiny_model(tmp_path):
    out = tmp_path / "sel"
    result = runner.invoke(select_app.app, ["shift", "--pool", str(POOL), "--budget", "7", "--model", "tiny-random-llama",
                                            "--max-new-tokens", "8", "--out", str(out), "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    manifest = json.loads((out / "manifest.json").read_text())
    subset = [json.loads(line) for line in (out / "subset.jsonl").read_text().splitlines()]
    assert summary["ids"] == manifest["ids"] == [row["id"] for row in subset]
    assert len(subset) == 7 and manifest["method"] == "shift" and manifest["n_pool"] == 100
    assert [row["selection"]["rank"] for row in subset] == list(range(7))
    pool_rows = {json.loads(line)["id"]: json.loads(line) for line in POOL.read_text().splitlines()}
    for row in subset:
        original = dict(row)
        original.pop("selection")
        assert original == pool_rows[row["id"]]
    assert (out / "selection.png").stat().st_size > 10_000
    assert manifest["config"]["max_new_tokens"] == 8


@pytest.mark.parametrize("method", ["random", "utility", "kcenter", "appl", "self-certainty"])
def test_baselines_share_the_output_format(tmp_path, method):
    out = tmp_path / method
    result = runner.invoke(select_app.app, [method, "--pool", str(POOL), "--budget", "0.05", "--model",
                                            "tiny-random-llama", "--max-new-tokens", "8", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == method and len(manifest["ids"]) == 5 and len(set(manifest["ids"])) == 5


def test_config_file_and_flag_override(tmp_path):
    config = tmp_path / "sel.yaml"
    config.write_text("budget: 3\nmax_new_tokens: 8\nmodel: tiny-random-llama\n")
    out = tmp_path / "cfg"
    result = runner.invoke(select_app.app, ["random", "--pool", str(POOL), "--config", str(config), "--budget", "4",
                                            "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["n_selected"] == 4
    config.write_text("budget: 3\nmax_tokens: 8\n")
    result = runner.invoke(select_app.app, ["random", "--pool", str(POOL), "--config", str(config), "--out", str(out)])
    assert result.exit_code == 2
    assert "unknown key(s) max_tokens" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--budget", "0"], "'budget' parameter of ShiftSelector"),
        (["--budget", "101"], "--budget 101 is larger than the pool: "),
        (["--budget", "1.5"], "'budget' parameter of ShiftSelector"),
        (["--budget", "ten"], "--budget must be an int or a finite number; got 'ten' (a string)"),
        (["--model", "no-such-model"], "built-in names"),
        (["--layers", "last_k:99", "--budget", "2"], "layer spec"),
    ],
)
def test_bad_select_input_exits_2_with_one_line(tmp_path, args, message):
    result = runner.invoke(select_app.app, ["shift", "--pool", str(POOL), "--model", "tiny-random-llama",
                                            "--max-new-tokens", "4", "--out", str(tmp_path / "x"), "--quiet", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "x" / "manifest.json").exists()


def test_train_round_trip_from_a_selection_dir(tmp_path):
    out = tmp_path / "sel"
    assert runner.invoke(select_app.app, ["random", "--pool", str(POOL), "--budget", "4", "--out", str(out),
                                          "--quiet"]).exit_code == 0
    run = tmp_path / "run"
    result = runner.invoke(train_app.app, ["--selected", str(out), "--model", "tiny-random-llama", "--out", str(run),
                                           "--max-steps", "1", "--batch-size", "2", "--group-size", "2",
                                           "--max-new-tokens", "4", "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["step"] == 1
    assert (run / "checkpoint-1" / "model.safetensors").is_file()


def test_train_refuses_a_selection_whose_pool_changed(tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text(POOL.read_text())
    out = tmp_path / "sel"
    assert runner.invoke(select_app.app, ["random", "--pool", str(pool), "--budget", "4", "--out", str(out),
                                          "--quiet"]).exit_code == 0
    pool.write_text(POOL.read_text().replace("Calculate", "Compute", 1))
    result = runner.invoke(train_app.app, ["--selected", str(out), "--model", "tiny-random-llama", "--out",
                                           str(tmp_path / "run"), "--max-steps", "1"])
    assert result.exit_code == 2 and "changed since" in result.output
    (out / "manifest.json").unlink()
    result = runner.invoke(train_app.app, ["--selected", str(out), "--model", "tiny-random-llama"])
    assert result.exit_code == 2 and "no manifest.json" in result.output


def test_train_rejects_unknown_config_keys_and_group_size_1(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text("lr: 1.0e-5\nlearning_rate: 3\n")
    result = runner.invoke(train_app.app, ["--data", str(POOL), "--config", str(config)])
    assert result.exit_code == 2 and "learning_rate" in result.output
    result = runner.invoke(train_app.app, ["--data", str(POOL), "--group-size", "1", "--model", "tiny-random-llama"])
    assert result.exit_code == 2 and "group_size" in result.output


def test_models_list_names_every_builtin():
    result = runner.invoke(main.app, ["models", "list"])
    assert result.exit_code == 0
    assert "smollm2-135m-instruct" in result.output and "tiny-random-llama" in result.output
