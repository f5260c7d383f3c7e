"""Non-finite training never goes unnoticed: a NaN reward stops the run with one line naming the
function, the step and the row; a NaN gradient skips the update, is logged, and stops the run after
``max_nonfinite_skips`` steps in a row; no checkpoint ever holds a non-finite weight."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from oprd.cli import train_app
from oprd.errors import OprdInputError
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.hooks import TrainerHook
from oprd.rlvr.trainer import GRPOTrainer
from tests.helpers import reward_spec
from tests.helpers.trainer import write_pool


def _finite(checkpoint: Path) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in load_file(str(checkpoint / "model.safetensors")).values())


def test_a_nan_reward_at_step_2_exits_2_with_one_line_and_keeps_step_1(tmp_path, monkeypatch):
    monkeypatch.delenv("OPRD_DEBUG", raising=False)
    run = tmp_path / "run"
    result = CliRunner().invoke(train_app.app, [
        "--data", str(write_pool(tmp_path / "pool.jsonl")), "--out", str(run), "--model", "tiny-random-llama",
        "--max-steps", "3", "--batch-size", "2", "--group-size", "4", "--max-new-tokens", "6", "--save-steps", "1",
        "--reward-func", reward_spec("trainer", "nan_from_second_call"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert "nan_from_second_call returned nan at step 2 for row" in result.stderr
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-1"]
    assert _finite(run / "checkpoint-1")
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1]


class NaNLossFromStep2(TrainerHook):
    """A loss term that turns NaN from the second step on (as an overflow would)."""

    name = "nan_loss"

    def __init__(self) -> None:
        self.steps = 0

    def after_advantages(self, batch) -> None:
        self.steps += 1

    def loss_term(self, micro):
        scale = float("nan") if self.steps >= 2 else 0.0  # NaN reaches every gradient it touches
        return micro.outputs.logp.sum() * scale, {}


def test_nan_gradients_skip_the_update_and_stop_after_the_configured_streak(tmp_path):
    config = GRPOConfig(model="tiny-random-llama", data=str(write_pool(tmp_path / "pool.jsonl")), out=str(tmp_path / "run"),
                        max_steps=6, batch_size=2, group_size=4, max_new_tokens=6, lr=1e-2, save_steps=1,
                        max_nonfinite_skips=2, reward_funcs=[reward_spec("trainer", "varied_reward")])
    trainer = GRPOTrainer(config, hooks=[NaNLossFromStep2()], progress=False)
    initial = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with pytest.raises(OprdInputError, match="non-finite .* for 2 steps in a row"):
        trainer.train()
    after_step_1 = load_file(str(tmp_path / "run" / "checkpoint-1" / "model.safetensors"))
    assert any(not torch.equal(initial[k], after_step_1[k]) for k in after_step_1)  # step 1 trained
    now = trainer.model.state_dict()
    assert all(torch.equal(now[k], after_step_1[k]) for k in after_step_1)  # steps 2 and 3 changed nothing
    assert all(bool(torch.isfinite(v).all()) for v in now.values())
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [(line["step"], line["train/skipped_nonfinite"]) for line in lines] == [(1, 0.0), (2, 1.0)]
    assert sorted(p.name for p in (tmp_path / "run").glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    assert _finite(tmp_path / "run" / "checkpoint-2")
