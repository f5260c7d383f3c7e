import json
import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from oprd.errors import OprdInputError
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.hooks import MicroBatch
from oprd.rlvr.policy import TokenBatch, policy_forward
from oprd.rlvr.trainer import GRPOTrainer
from tests.helpers import reward_spec
from tests.helpers.distill import save_teacher
from tests.helpers.trainer import write_pool

LETTER = reward_spec("trainer", "letter_reward")


@pytest.fixture(scope="module")
def teachers(tmp_path_factory):
    root = tmp_path_factory.mktemp("teachers")
    return {"deeper": save_teacher(root / "deeper", num_layers=3), "narrow": save_teacher(root / "narrow", hidden_size=32),
            "foreign": save_teacher(root / "foreign", foreign=True)}


def _config(tmp_path, teacher, **overrides) -> GRPOConfig:
    base = dict(model="tiny-random-llama", data=str(write_pool(tmp_path / "pool.jsonl")), out=str(tmp_path / "run"),
                max_steps=2, batch_size=2, group_size=2, max_new_tokens=6, lr=1e-2, save_steps=100,
                reward_funcs=["none"], teacher=teacher, distill="oprd")
    return GRPOConfig(**{**base, **overrides})


def _lines(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_oprd_only_trains_without_ever_running_the_lm_head_with_gradient(tmp_path, teachers):
    trainer = GRPOTrainer(_config(tmp_path, teachers["deeper"]), progress=False)
    head_calls = []
    trainer.model.get_output_embeddings().register_forward_hook(
        lambda module, args, output: head_calls.append(torch.is_grad_enabled()))
    component = trainer.hooks[-1]
    teacher_before = {k: v.clone() for k, v in component.teacher.model.state_dict().items()}
    student_before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    assert True not in head_calls  # generation reads the head under no_grad; the update never does
    assert any(not torch.equal(student_before[k], v) for k, v in trainer.model.state_dict().items())
    assert all(torch.equal(teacher_before[k], v) for k, v in component.teacher.model.state_dict().items())
    assert all(p.grad is None and not p.requires_grad for p in component.teacher.model.parameters())
    lines = _lines(tmp_path / "run")
    assert [line["step"] for line in lines] == [1, 2]
    assert all("loss/oprd/loss" in line and "loss/oprd/cosine" in line for line in lines)
    assert not any(key.startswith(("reward/", "loss/pg")) for key in lines[-1])


def test_extra_loss_runs_the_body_only_and_grads_reach_only_the_student(tmp_path, teachers):
    trainer = GRPOTrainer(_config(tmp_path, teachers["deeper"], distill_positions="last_k:3",
                                  distill_store_dtype="bfloat16", distill_offload=True), progress=False)
    component = trainer.hooks[-1]
    batch = trainer._rollout_batch(trainer.sampler.take(2), round_index=0)
    component.after_advantages(batch)
    assert all(t.dtype == torch.bfloat16 and t.device.type == "cpu" for t in component._targets["oprd"].values())
    calls = []
    trainer.model.get_output_embeddings().register_forward_hook(lambda *a: calls.append(1))
    tokens = TokenBatch.from_rollouts(batch.rollouts, trainer.tokenizer.pad_token_id)
    trainer.model.train()
    outputs = policy_forward(trainer.policy, tokens, **trainer.forward_needs)
    loss, stats = component.loss_term(MicroBatch(batch.rollouts, tokens, outputs))
    loss.backward()
    assert calls == []
    assert stats["loss"] > 0 and -1.0 <= stats["cosine"] <= 1.0
    assert any(p.grad is not None for p in trainer.model.parameters())
    assert trainer.model.get_output_embeddings().weight.grad is None or trainer.model.config.tie_word_embeddings
    assert all(p.grad is None for p in component.teacher.model.parameters())


def test_grpo_plus_oprd_from_the_command_line_logs_the_loss_term(tmp_path, teachers):
    from oprd.cli.train_app import app

    pool = write_pool(tmp_path / "pool.jsonl")
    args = ["--data", str(pool), "--model", "tiny-random-llama", "--out", str(tmp_path / "run"), "--max-steps", "2",
            "--batch-size", "2", "--group-size", "2", "--max-new-tokens", "6", "--reward-func", LETTER, "--teacher",
            teachers["deeper"], "--distill", "oprd", "--distill-coef", "0.5", "--distill-positions", "last_k:2000",
            "--distill-layers", "all", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = _lines(tmp_path / "run")
    assert len(lines) == 2
    assert all("loss/oprd/loss" in line and "loss/pg_loss" in line and "reward/mean" in line for line in lines)


@pytest.mark.parametrize("kind", ["opd-top1", "opd-topk", "opd-full"])
def test_opd_baselines_train_alone(tmp_path, teachers, kind):
    trainer = GRPOTrainer(_config(tmp_path, teachers["deeper"], distill=kind, distill_topk=4, max_steps=1),
                          progress=False)
    metrics = trainer.train()
    assert math.isfinite(metrics["loss/opd/loss"]) and "loss/opd/reverse_kl" in metrics


def test_teacher_with_another_tokenizer_is_re_tokenised_for_oprd(tmp_path, teachers):
    trainer = GRPOTrainer(_config(tmp_path, teachers["foreign"], max_steps=1), progress=False)
    assert not trainer.hooks[-1].teacher.shares_tokens
    assert math.isfinite(trainer.train()["loss/oprd/loss"])
    with pytest.raises(OprdInputError, match="teacher must use the student's tokenizer"):
        GRPOTrainer(_config(tmp_path, teachers["foreign"], distill="opd-topk", out=str(tmp_path / "run-opd")),
                    progress=False)


def test_bad_distillation_inputs_are_one_line_errors(tmp_path, teachers):
    from oprd.cli.train_app import app

    cases = [
        (dict(teacher=teachers["narrow"]), "oprd distill fit-bridge"),
        (dict(teacher=teachers["deeper"], distill_layer_map="identity"), "identity layer map needs equal depths"),
        (dict(teacher=teachers["deeper"], distill_positions="last_k:lots"), "cannot parse positions spec"),
        (dict(teacher=None, distill=None), "--reward none trains only the distillation loss"),
        (dict(distill="opd-magic"), "'distill' parameter"),
    ]
    for overrides, message in cases:
        with pytest.raises(OprdInputError, match=message) as info:
            teacher = overrides.pop("teacher", teachers["deeper"])
            GRPOTrainer(_config(tmp_path, teacher, **overrides), progress=False)
        assert "\n" not in str(info.value)
    pool = write_pool(tmp_path / "pool.jsonl")
    result = CliRunner().invoke(app, ["--data", str(pool), "--model", "tiny-random-llama", "--teacher", teachers["deeper"],
                                      "--distill", "oprd", "--reward", "none", "--distill-positions", "final:3"])
    assert result.exit_code == 2 and "cannot parse positions spec 'final:3'" in result.output
