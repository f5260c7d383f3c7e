import json
import math

import pytest
from typer.testing import CliRunner

from oprd.distill import Bridge
from oprd.errors import OprdInputError
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.trainer import GRPOTrainer
from tests.helpers.distill import save_teacher
from tests.helpers.trainer import write_pool


def test_fit_bridge_then_train_with_it(tmp_path):
    from oprd.cli.main import app

    teacher = save_teacher(tmp_path / "narrow", num_layers=3, hidden_size=32)
    pool = write_pool(tmp_path / "pool.jsonl", n=4)
    out = tmp_path / "bridge.safetensors"
    result = CliRunner().invoke(app, ["distill", "fit-bridge", "--student", "tiny-random-llama", "--teacher", teacher,
                                      "--data", str(pool), "--rank", "4", "--samples", "2", "--max-new-tokens", "8",
                                      "--epochs", "3", "--out", str(out), "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["rollouts"] == 8 and summary["pairs"] == [[1, 1], [2, 3]]
    bridge = Bridge.load(out)
    assert (bridge.models.student_width, bridge.models.teacher_width, bridge.rank) == (64, 32, 4)
    assert bridge.models.student == "tiny-random-llama" and bridge.models.teacher == teacher

    config = GRPOConfig(model="tiny-random-llama", data=str(pool), out=str(tmp_path / "run"), max_steps=1, batch_size=2,
                        group_size=2, max_new_tokens=6, lr=1e-2, reward_funcs=["none"], teacher=teacher,
                        distill="oprd", bridge=str(out))
    metrics = GRPOTrainer(config, progress=False).train()
    assert math.isfinite(metrics["loss/oprd/loss"])

    other = save_teacher(tmp_path / "other", num_layers=3, hidden_size=32, seed=5)
    config.teacher = other
    config.out = str(tmp_path / "run-other")  # a fresh run dir: the first one holds a finished run
    with pytest.raises(OprdInputError, match="this bridge was fitted for"):
        GRPOTrainer(config, progress=False)
