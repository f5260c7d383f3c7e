import json

from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.methods.olr.refiner import corrupt_rows
from oprd.rlvr.trainer import GRPOTrainer


def _noisy_pool(path, mode):
    rows = [{"id": f"q{i}", "prompt": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(6)]
    path.write_text("".join(json.dumps(r) + "\n" for r in corrupt_rows(rows, 0.5, mode, seed=0)))
    return path


def _config(tmp_path, **overrides):
    base = dict(model="tiny-random-llama", data=str(_noisy_pool(tmp_path / "noisy.jsonl", "inactive")),
                out=str(tmp_path / "run"), max_steps=2, batch_size=3, group_size=4, max_new_tokens=6, lr=1e-3,
                olr=True, olr_start_epoch=-1, save_steps=1)
    return GRPOConfig(**{**base, **overrides})


def test_olr_logs_noise_metrics_and_checkpoints_its_histories(tmp_path):
    GRPOTrainer(_config(tmp_path), progress=False).train()
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    for key in ("olr/noisy_label_correct", "olr/clean_wrongly_replaced", "olr/accuracy_clean", "olr/accuracy_noisy",
                "olr/replaced_fraction"):
        assert key in metrics[-1]
    assert metrics[-1]["olr/n_noisy"] + metrics[-1]["olr/n_clean"] == 3
    state = json.loads((tmp_path / "run" / "checkpoint-2" / "trainer_state.json").read_text())
    histories = state["hooks"]["olr"]["prompts"]
    assert sum(len(h["pass_rates"]) for h in histories.values()) == 6  # 2 steps x 3 prompts, one entry per visit

    resumed = GRPOTrainer(_config(tmp_path, max_steps=3, resume="auto"), progress=False)
    resumed.train()
    refiner = resumed.hooks[-1].refiner
    assert sum(len(refiner.history(f"q{i}")[1]) for i in range(6)) == 9  # the histories went on


def test_active_noise_trains_with_a_wrong_label_drawn_from_the_group(tmp_path):
    config = _config(tmp_path, data=str(_noisy_pool(tmp_path / "active.jsonl", "active")), olr=False, max_steps=1)
    trainer = GRPOTrainer(config, progress=False)
    batch = trainer._rollout_batch(trainer.sampler.take(3), round_index=0)
    rows = [trainer.data.rows[r] for r in batch.rows]
    for row, label in zip(rows, batch.labels):
        if row.get("noise") == "active":
            assert label != row["original_answer"]
        else:
            assert label == row["answer"]
