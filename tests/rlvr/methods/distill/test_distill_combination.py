"""OPD + mu * OPRD (docs/methods/oprd.md, "Combining"): several distillation losses, each with its own weight and log."""

import json

import pytest
from typer.testing import CliRunner

from oprd.errors import OprdInputError
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.methods.distill.options import coef_flag, distill_terms
from oprd.rlvr.trainer import GRPOTrainer
from tests.helpers.distill import save_teacher
from tests.helpers.trainer import write_pool


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    return save_teacher(tmp_path_factory.mktemp("teacher") / "deeper", num_layers=3)


def _config(tmp_path, teacher, **overrides) -> GRPOConfig:
    base = dict(model="tiny-random-llama", data=str(write_pool(tmp_path / "pool.jsonl")), out=str(tmp_path / "run"),
                max_steps=1, batch_size=2, group_size=2, max_new_tokens=6, lr=1e-2, save_steps=100,
                reward_funcs=["none"], teacher=teacher, distill="opd-top1,oprd", distill_coef=[1.0, 0.5])
    return GRPOConfig(**{**base, **overrides})


def _first_step(tmp_path, teacher, name, **overrides) -> dict:
    """Metrics of one training step (the same rollouts for every loss: generation does not see the teacher)."""
    (tmp_path / name).mkdir()
    trainer = GRPOTrainer(_config(tmp_path / name, teacher, **overrides), progress=False)
    trainer.train()
    return json.loads((tmp_path / name / "run" / "metrics.jsonl").read_text().splitlines()[0])


def test_each_coefficient_weights_only_its_own_term(tmp_path, teacher):
    opd = _first_step(tmp_path, teacher, "opd", distill="opd-top1", distill_coef=None)
    oprd = _first_step(tmp_path, teacher, "oprd", distill="oprd", distill_coef=None)
    only_opd = _first_step(tmp_path, teacher, "only_opd", distill_coef=[1.0, 0.0])
    only_oprd = _first_step(tmp_path, teacher, "only_oprd", distill=["opd-top1", "oprd"], distill_coef=[0.0, 1.0])
    for both in (only_opd, only_oprd):  # each term is logged unweighted, as the single loss logs it
        assert both["loss/distill/opd-top1/loss"] == pytest.approx(opd["loss/opd/loss"], rel=1e-5)
        assert both["loss/distill/opd-top1/reverse_kl"] == pytest.approx(opd["loss/opd/reverse_kl"], rel=1e-5)
        assert both["loss/distill/oprd/loss"] == pytest.approx(oprd["loss/oprd/loss"], rel=1e-5)
        assert both["loss/distill/oprd/cosine"] == pytest.approx(oprd["loss/oprd/cosine"], rel=1e-5)
    assert only_opd["grad_norm"] == pytest.approx(opd["grad_norm"], rel=1e-4)
    assert only_oprd["grad_norm"] == pytest.approx(oprd["grad_norm"], rel=1e-4)
    assert opd["grad_norm"] != pytest.approx(oprd["grad_norm"], rel=1e-2)


def test_combination_from_the_command_line_logs_each_term(tmp_path, teacher):
    from oprd.cli.train_app import app

    pool = write_pool(tmp_path / "pool.jsonl")
    args = ["--data", str(pool), "--model", "tiny-random-llama", "--out", str(tmp_path / "run"), "--max-steps", "1",
            "--batch-size", "2", "--group-size", "2", "--max-new-tokens", "6", "--reward", "none", "--teacher", teacher,
            "--distill", "opd-top1,oprd", "--distill-coef", "1.0,0.5", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    line = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    for key in ("loss/distill/opd-top1/loss", "loss/distill/opd-top1/reverse_kl", "loss/distill/oprd/loss",
                "loss/distill/oprd/cosine"):
        assert key in line and line[key] == line[key]  # present and not NaN


def test_terms_and_coefficients():
    assert [(t.kind, t.coef) for t in distill_terms("oprd", None)] == [("oprd", 1.0)]
    assert [(t.kind, t.coef) for t in distill_terms("oprd", 0.5)] == [("oprd", 0.5)]
    assert [(t.kind, t.coef) for t in distill_terms(" opd-top1 , oprd", [1, 10])] == [("opd-top1", 1.0), ("oprd", 10.0)]
    assert [t.coef for t in distill_terms(["opd-topk", "oprd"], None)] == [1.0, 1.0]
    assert (coef_flag("0.5"), coef_flag("1.0,0.5"), coef_flag(None)) == (0.5, [1.0, 0.5], None)


@pytest.mark.parametrize("kinds, coef, match", [
    ("opd-top1,oprd", 0.5, "combines 2 losses but --distill-coef gives one value"),
    ("opd-top1,oprd", [1.0], "has 2 losses but --distill-coef has 1 values"),
    ("oprd,oprd", None, "names oprd more than once"),
    ("oprd,opd-magic", None, "'distill' parameter"),
    ([], None, "'distill' parameter"),
    ("opd-top1,oprd", [1.0, -0.5], "'distill_coef' parameter"),
])
def test_bad_combinations_are_one_line_errors(kinds, coef, match):
    with pytest.raises(OprdInputError, match=match) as info:
        distill_terms(kinds, coef)
    assert "\n" not in str(info.value)


def test_bad_coefficient_flag_exits_2(tmp_path, teacher):
    from oprd.cli.train_app import app

    pool = write_pool(tmp_path / "pool.jsonl")
    base = ["--data", str(pool), "--model", "tiny-random-llama", "--reward", "none", "--teacher", teacher]
    result = CliRunner().invoke(app, [*base, "--distill", "opd-top1,oprd", "--distill-coef", "1.0,half"])
    assert result.exit_code == 2 and "--distill-coef takes a number or comma-separated numbers" in result.output
    result = CliRunner().invoke(app, [*base, "--distill", "oprd", "--bridge", str(pool), "--distill", "opd-top1,opd-full"])
    assert result.exit_code == 2 and "--bridge applies to hidden states" in result.output
