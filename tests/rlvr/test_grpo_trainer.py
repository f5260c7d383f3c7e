import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors.torch import load_file

from oprd.errors import OprdInputError
from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.trainer import GRPOTrainer
from tests.helpers import reward_spec
from tests.helpers.trainer import write_pool

LETTER = reward_spec("trainer", "letter_reward")


def _config(tmp_path, **overrides) -> GRPOConfig:
    base = dict(model="tiny-random-llama", data=str(write_pool(tmp_path / "pool.jsonl")), out=str(tmp_path / "run"),
                max_steps=2, batch_size=2, group_size=4, max_new_tokens=6, lr=1e-3, save_steps=100,
                reward_funcs=[LETTER])
    return GRPOConfig(**{**base, **overrides})


def test_steps_change_parameters_and_raise_a_trivial_reward(tmp_path):
    trainer = GRPOTrainer(_config(tmp_path, max_steps=12, lr=3e-2, group_size=8, batch_size=4, max_new_tokens=8),
                          progress=False)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    after = trainer.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == list(range(1, 13))
    first, last = (sum(l["reward/mean"] for l in part) / 3 for part in (lines[:3], lines[-3:]))
    assert last > first + 0.05, (first, last)
    for key in ("loss/pg_loss", "loss/kl", "loss/clip_fraction", "reward/std", "completion/length_mean",
                "zero_variance_fraction", "tokens_per_s", "reward/letter_reward"):
        assert key in lines[-1]


@pytest.mark.parametrize("eval_steps, evaluated", [(0, [3]), (2, [2, 3])])
def test_evaluation_runs_every_eval_steps_and_after_the_last_step(tmp_path, eval_steps, evaluated):
    pool = str(write_pool(tmp_path / "pool.jsonl"))
    GRPOTrainer(_config(tmp_path, max_steps=3, eval_data=pool, eval_steps=eval_steps, eval_max_new_tokens=4),
                progress=False).train()
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines if "eval/pass@1" in line] == evaluated


def test_reward_functions_receive_dataset_columns(tmp_path):
    seen = {}

    def spy(prompts, completions, **columns):
        seen.update(columns)
        return [0.0] * len(completions)

    pool = tmp_path / "columns.jsonl"
    pool.write_text("".join(json.dumps({"id": f"r{i}", "prompt": "p", "answer": "1", "level": i}) + "\n" for i in range(2)))
    trainer = GRPOTrainer(_config(tmp_path, data=str(pool), max_steps=1), progress=False)
    trainer.rewards.functions = [spy]
    trainer.rewards.names = ["spy"]
    trainer.rewards.weights = [1.0]
    trainer.train()
    assert sorted(set(seen["level"])) == [0, 1] and len(seen["level"]) == 8
    assert seen["answer"] == ["1"] * 8
    assert set(seen["id"]) == {"r0", "r1"}


SCRIPT = textwrap.dedent(
    """
    import sys
    from oprd.rlvr.config import GRPOConfig
    from oprd.rlvr.trainer import GRPOTrainer
    config = GRPOConfig(model="tiny-random-llama", data=sys.argv[1], out=sys.argv[2], max_steps=int(sys.argv[3]),
                        batch_size=2, group_size=4, max_new_tokens=6, lr=1e-3, save_steps=1, save_total_limit=10,
                        reward_funcs=[sys.argv[4]], resume=sys.argv[5] if len(sys.argv) > 5 else None)
    GRPOTrainer(config, progress=False).train()
    """
)


def _run(args, **kwargs):
    return subprocess.Popen([sys.executable, "-c", SCRIPT, *map(str, args)], **kwargs)


def test_sigkill_and_resume_equals_uninterrupted_run(tmp_path):
    pool = write_pool(tmp_path / "pool.jsonl", n=3)  # 3 rows, batch 2: epochs roll over mid-run
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert _run([pool, clean, 5, LETTER]).wait(timeout=300) == 0
    process = _run([pool, killed, 5, LETTER])
    deadline = time.time() + 240
    while not (killed / "checkpoint-2" / "trainer_state.json").exists():
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not (killed / "checkpoint-5").exists()
    assert _run([pool, killed, 5, LETTER, "auto"]).wait(timeout=300) == 0
    a = load_file(str(clean / "checkpoint-5" / "model.safetensors"))
    b = load_file(str(killed / "checkpoint-5" / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    steps = [json.loads(line)["step"] for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]


def test_resume_past_max_steps_says_so(tmp_path):
    GRPOTrainer(_config(tmp_path, max_steps=1), progress=False).train()
    trainer = GRPOTrainer(_config(tmp_path, max_steps=1, resume="auto"), progress=False)
    with pytest.raises(OprdInputError, match="raise --max-steps"):
        trainer.train()


def test_keep_last_k_and_final_checkpoint(tmp_path):
    GRPOTrainer(_config(tmp_path, max_steps=5, save_steps=2, save_total_limit=2), progress=False).train()
    names = sorted(p.name for p in (tmp_path / "run").iterdir() if p.name.startswith("checkpoint-"))
    assert names == ["checkpoint-4", "checkpoint-5"]
    state = json.loads((tmp_path / "run" / "checkpoint-5" / "trainer_state.json").read_text())
    assert state["step"] == 5 and state["sampler"]["n"] == 6


def test_resume_from_a_checkpoint_of_another_model_is_refused(tmp_path):
    GRPOTrainer(_config(tmp_path, max_steps=1), progress=False).train()
    config = json.loads((tmp_path / "run" / "checkpoint-1" / "config.json").read_text())
    config["hidden_size"] = 128
    (tmp_path / "run" / "checkpoint-1" / "config.json").write_text(json.dumps(config))
    with pytest.raises(OprdInputError, match="another model"):
        GRPOTrainer(_config(tmp_path, max_steps=2, resume=str(tmp_path / "run" / "checkpoint-1")), progress=False)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"group_size": 1}, "'group_size' parameter of GRPOConfig"),
        ({"aggregation": "sum"}, "'aggregation' parameter"),
        ({"reward_funcs": ["no.such.module:f"]}, "no.such.module"),
        ({"data": None}, "exactly one of --selected"),
        ({"unlabeled_reward": "magic"}, "'unlabeled_reward' parameter"),
        ({"vllm_options": {"max_model_len": 512}}, "add --generation-backend vllm"),
        ({"generation_backend": "vllm", "vllm_options": {"seed": 3}}, "may not set seed"),
        ({"generation_backend": "vllm", "vllm_options": {"worker_extension_cls": "x.Y"}}, "carries the weight sync"),
        ({"generation_backend": "vllm", "vllm_options": ["enforce_eager"]}, "'vllm_options' parameter"),
    ],
)
def test_bad_configs_fail_with_one_clear_message(tmp_path, overrides, message):
    with pytest.raises(OprdInputError, match=message):
        GRPOTrainer(_config(tmp_path, **overrides), progress=False)
