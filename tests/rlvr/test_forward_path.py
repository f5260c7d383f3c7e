"""Every forward of the policy during training goes through its policy module (what DDP and FSDP2
wrap); generation is the one other caller of the decoder, and only without gradient."""


import pytest
import torch

from oprd.rlvr.config import GRPOConfig
from oprd.rlvr.policy import PolicyModule
from oprd.rlvr.trainer import GRPOTrainer
from tests.helpers import reward_spec
from tests.helpers.trainer import write_pool

VARIED = reward_spec("trainer", "varied_reward")


@pytest.mark.parametrize(
    "overrides, expected_kinds",
    [
        ({"ppo_epochs": 2, "beta": 0.05}, {"no_grad", "grad"}),  # old log-probs pass, two PPO epochs, KL
        ({"unlabeled_reward": "self-certainty"}, {"no_grad", "grad"}),  # self-reward rescoring
        ({"unlabeled_reward": "geomin"}, {"no_grad", "grad"}),  # hidden-state means for the prior
    ],
)
def test_every_training_forward_goes_through_the_policy_module(tmp_path, monkeypatch, overrides, expected_kinds):
    state = {"policy": False, "generate": False}
    body_calls: list[tuple[bool, bool, bool]] = []  # (inside policy module, inside generation, grad enabled)
    original = PolicyModule.forward

    def counting_forward(self, *args, **kwargs):
        state["policy"] = True
        try:
            return original(self, *args, **kwargs)
        finally:
            state["policy"] = False

    monkeypatch.setattr(PolicyModule, "forward", counting_forward)
    config = GRPOConfig(model="tiny-random-llama", data=str(write_pool(tmp_path / "pool.jsonl", labeled_every=2)),
                        out=str(tmp_path / "run"), max_steps=1, batch_size=4, group_size=4, max_new_tokens=6,
                        micro_batch_size=5, save_steps=100, reward_funcs=[VARIED], **overrides)
    trainer = GRPOTrainer(config, progress=False)
    lm = trainer.model
    lm.register_forward_pre_hook(lambda *a: state.update(generate=not state["policy"]))
    lm.register_forward_hook(lambda *a: state.update(generate=False))
    lm.get_decoder().register_forward_pre_hook(
        lambda *a: body_calls.append((state["policy"], state["generate"], torch.is_grad_enabled())))
    trainer.train()
    stray = [call for call in body_calls if not call[0] and not (call[1] and not call[2])]
    assert stray == [], f"{len(stray)} decoder calls bypassed the policy module"
    kinds = {"grad" if grad else "no_grad" for inside, _, grad in body_calls if inside}
    assert kinds == expected_kinds
    grad_calls = sum(1 for inside, _, grad in body_calls if inside and grad)
    micro_batches = -(-16 // 5)
    assert grad_calls == micro_batches * config.ppo_epochs


def test_hooks_run_by_their_declared_order_user_hooks_before_the_audit(tmp_path):
    from oprd.rlvr.hooks import TrainerHook

    seen: list[str] = []

    class Recorder(TrainerHook):
        def __init__(self, name: str, order: int) -> None:
            self.name, self.order = name, order

        def after_rollouts(self, batch) -> None:
            seen.append(self.name)

    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(f'{{"id": "q{i}", "prompt": "{i}+{i}?", "answer": null, "hidden_answer": "{2 * i}"}}\n'
                            for i in range(4)))
    config = GRPOConfig(model="tiny-random-llama", data=str(pool), out=str(tmp_path / "run"), max_steps=1, batch_size=2,
                        group_size=2, max_new_tokens=4, save_steps=100, reward_funcs=[VARIED])
    trainer = GRPOTrainer(config, hooks=[Recorder("late", 95), Recorder("user", 50), Recorder("early", 5)],
                          progress=False)
    assert [hook.name for hook in trainer.hooks] == ["early", "ttrl", "user", "pseudo_label_audit", "late"]
    trainer.train()
    assert seen == ["early", "user", "late"]
