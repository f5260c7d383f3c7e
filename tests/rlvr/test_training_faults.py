"""Training faults become one line: earlier runs in --out, damaged checkpoints, raising reward functions,
a manifest whose subset_file leads out of its dir (issue classes 3, 5 and the subset_file bullet of 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oprd.cli import train_app
from oprd.errors import OprdInputError
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.rewards import RewardSet
from oprd.rlvr.runtime.run_dir import prepare_run_dir
from tests.helpers import reward_spec

LETTER = reward_spec("trainer", "letter_reward")
runner = CliRunner()


def _pool(path: Path) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"{i}+{i}?", "answer": str(2 * i)}) + "\n"
                            for i in range(4)))
    return path


def _config(tmp_path: Path, **overrides) -> GRPOConfig:
    base = dict(model="tiny-random-llama", data=str(_pool(tmp_path / "pool.jsonl")), out=str(tmp_path / "run"),
                max_steps=1, batch_size=2, group_size=2, max_new_tokens=4, save_steps=1, reward_funcs=[LETTER])
    return GRPOConfig(**{**base, **overrides})


def _earlier_run(out: Path) -> None:
    (out / "checkpoint-2").mkdir(parents=True)
    (out / "checkpoint-2" / "trainer_state.json").write_text("{}")
    (out / "metrics.jsonl").write_text('{"step": 1}\n{"step": 2}\n')


def test_an_earlier_run_needs_resume_or_overwrite(tmp_path):
    config = _config(tmp_path)
    _earlier_run(tmp_path / "run")
    with pytest.raises(OprdInputError, match=r"already holds a training run \(metrics.jsonl, checkpoint-2\); "
                                             "pass --resume auto to continue it, --overwrite to replace it"):
        prepare_run_dir(config, Path(config.out))
    prepare_run_dir(_config(tmp_path, resume="auto"), Path(config.out))  # continuing is fine
    assert (tmp_path / "run" / "metrics.jsonl").exists()
    prepare_run_dir(_config(tmp_path, overwrite=True), Path(config.out))
    assert not (tmp_path / "run" / "metrics.jsonl").exists() and not (tmp_path / "run" / "checkpoint-2").exists()


def test_overwrite_and_resume_together_are_refused(tmp_path):
    with pytest.raises(OprdInputError, match="pass only one"):
        prepare_run_dir(_config(tmp_path, overwrite=True, resume="auto"), tmp_path / "run")


def test_training_out_may_not_hold_its_data(tmp_path):
    config = _config(tmp_path, out=str(tmp_path))
    with pytest.raises(OprdInputError, match="holds the input --data"):
        prepare_run_dir(config, tmp_path)


def test_a_link_at_config_yaml_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    with pytest.raises(OprdInputError, match="config.yaml is a symbolic link"):
        prepare_run_dir(_config(tmp_path, resume="auto"), tmp_path / "run")


def test_oprd_train_over_an_earlier_run_exits_2_before_loading_a_model(tmp_path):
    _earlier_run(tmp_path / "run")
    before = (tmp_path / "run" / "metrics.jsonl").read_bytes()
    result = runner.invoke(train_app.app, ["--data", str(_pool(tmp_path / "pool.jsonl")), "--out",
                                           str(tmp_path / "run"), "--model", "tiny-random-llama", "--quiet"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "already holds a training run" in result.stderr
    assert (tmp_path / "run" / "metrics.jsonl").read_bytes() == before


def test_a_run_from_step_0_never_appends_to_old_metrics(tmp_path):
    from oprd.rlvr.runtime.metrics import MetricsLogger

    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "tor')
    MetricsLogger(tmp_path, [], run_name="r", config={}, resume_step=2)
    assert (tmp_path / "metrics.jsonl").read_text() == '{"step": 1}\n{"step": 2}\n'
    MetricsLogger(tmp_path, [], run_name="r", config={}, resume_step=0).log(1, {"x": 1.0})
    assert (tmp_path / "metrics.jsonl").read_text() == '{"step": 1, "x": 1.0}\n'


@pytest.mark.parametrize("name, damage", [("optimizer.pt", lambda b: b[: len(b) // 2]),
                                          ("trainer_state.json", lambda b: b[:10])])
def test_a_truncated_checkpoint_file_is_one_line_on_resume(tmp_path, name, damage):
    from oprd.rlvr.trainer import GRPOTrainer

    GRPOTrainer(_config(tmp_path), progress=False).train()
    checkpoint = tmp_path / "run" / "checkpoint-1"
    (checkpoint / name).write_bytes(damage((checkpoint / name).read_bytes()))
    result = runner.invoke(train_app.app, ["--data", str(tmp_path / "pool.jsonl"), "--out", str(tmp_path / "run"),
                                           "--model", "tiny-random-llama", "--resume", "auto", "--max-steps", "2",
                                           "--reward-func", LETTER, "--quiet"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert f"{name} is damaged" in result.stderr and "--resume PATH" in result.stderr


def boom(prompts, completions, **columns):
    """A user reward function with a bug."""
    return [1.0 / 0 for _ in completions]


def test_a_raising_reward_function_is_one_line_naming_it_and_the_step(monkeypatch):
    monkeypatch.delenv("OPRD_DEBUG", raising=False)
    rewards = RewardSet([boom])
    rewards.step = 7
    with pytest.raises(OprdInputError) as caught:
        rewards(["p"], ["c"])
    message = str(caught.value)
    assert message.startswith("reward function 'boom' raised ZeroDivisionError at step 7: float division by zero")
    assert "OPRD_DEBUG=1" in message and "\n" not in message
    monkeypatch.setenv("OPRD_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        rewards(["p"], ["c"])


def test_oprd_train_with_a_raising_reward_exits_2_with_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("OPRD_DEBUG", raising=False)
    result = runner.invoke(train_app.app, ["--data", str(_pool(tmp_path / "pool.jsonl")), "--out",
                                           str(tmp_path / "run"), "--model", "tiny-random-llama", "--max-steps", "1",
                                           "--batch-size", "2", "--group-size", "2", "--max-new-tokens", "4",
                                           "--reward-func", f"{Path(__file__).resolve()}:boom", "--quiet"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert "reward function 'boom' raised ZeroDivisionError" in result.stderr


@pytest.mark.parametrize("subset_file", ["../outside.jsonl", "/etc/passwd", "sub/subset.jsonl", "", 3])
def test_subset_file_must_be_a_name_inside_the_selection_dir(tmp_path, subset_file):
    from oprd.rlvr.dataset import load_train_data

    selection = tmp_path / "sel"
    selection.mkdir()
    _pool(tmp_path / "outside.jsonl")
    (selection / "manifest.json").write_text(json.dumps({"method": "random", "subset_file": subset_file}))
    with pytest.raises(OprdInputError, match="is not a file name inside"):
        load_train_data(selected=str(selection))


def test_subset_file_may_not_be_a_link_out_of_the_dir(tmp_path):
    from oprd.rlvr.dataset import load_train_data

    selection = tmp_path / "sel"
    selection.mkdir()
    (selection / "subset.jsonl").symlink_to(_pool(tmp_path / "outside.jsonl"))
    (selection / "manifest.json").write_text(json.dumps({"method": "random", "subset_file": "subset.jsonl"}))
    with pytest.raises(OprdInputError, match="is not a file name inside"):
        load_train_data(selected=str(selection))

