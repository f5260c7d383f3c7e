"""A short GRPO run with GeoMin on a half-labeled pool: diagnostics in metrics, prior in the checkpoint."""

import json

from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.trainer import GRPOTrainer


def test_geomin_run_logs_diagnostics_and_checkpoints_the_prior(tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"What is {i} + {i}?", "answer": str(2 * i)}) + "\n"
                            for i in range(8)))
    config = GRPOConfig(model="tiny-random-llama", data=str(pool), out=str(tmp_path / "run"), max_steps=2, batch_size=2,
                        group_size=4, max_new_tokens=6, lr=1e-3, save_steps=2, unlabeled_reward="geomin",
                        label_fraction=0.5, labeled_ratio=0.5)
    trainer = GRPOTrainer(config, progress=False)
    assert trainer.data.n_labeled == 4
    assert sum(row.get("hidden_answer") is not None for row in trainer.data.rows) == 4
    assert trainer.hidden_layers == [2]  # the tiny model has 2 layers: the last is the only candidate
    trainer.train()
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert line["geomin/warmup"] == 1.0  # 64 rollouts per class are far away
        assert line["geomin/kept"] + line["geomin/downweighted"] + line["geomin/dropped"] == 1
        assert line["geomin/mean_weight"] == 0.0 and line["weights/dropped_groups"] >= 1
    state = json.loads((tmp_path / "run" / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["hooks"]["geomin"]["layers"] == [2]
    assert state["hooks"]["geomin"]["centre_count"] == 2 * 2 * 4
    assert state["sampler"]["taken_labeled"] == 2
