"""A real TRL GRPOTrainer step on the tiny model with oprd's rewards; self-certainty checked against a plain forward."""

from __future__ import annotations

import math

import pytest

from oprd.integrations import MajorityVoteReward, SelfCertaintyReward, VerifierReward


class Recorder:
    """Wraps a reward and keeps what TRL passed and what the reward returned."""

    def __init__(self, reward):
        self.reward, self.calls = reward, []
        self.__name__ = reward.__name__

    def __call__(self, **kwargs):
        result = self.reward(**kwargs)
        self.calls.append((kwargs, result))
        return result


def _self_certainty_by_hand(model, ids: list[int], prompt_len: int) -> float:
    import torch

    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    logp = logits[prompt_len - 1: len(ids) - 1].float().log_softmax(-1)
    return float((-math.log(logp.shape[-1]) - logp.mean(-1)).mean())


def test_self_certainty_matches_a_single_unpadded_forward(tiny):
    model, tokenizer = tiny
    reward = SelfCertaintyReward(model, tokenizer, batch_size=4)
    prompts = ["What is 1 + 1?", [{"role": "user", "content": "Longer prompt: what is 12 times 12?"}]]
    completion_ids = [[40, 41, 42], [50, 51, 52, 53, 54, 55]]
    got = reward(prompts=prompts, completions=["", ""], completion_ids=completion_ids)
    text = tokenizer.apply_chat_template(prompts[1], tokenize=False, add_generation_prompt=True)
    chat_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    plain_ids = tokenizer(prompts[0], add_special_tokens=False)["input_ids"]
    expected = [_self_certainty_by_hand(model, plain_ids + completion_ids[0], len(plain_ids)),
                _self_certainty_by_hand(model, chat_ids + completion_ids[1], len(chat_ids))]
    assert got == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert reward(prompts=["q"], completions=[""], completion_ids=[[]]) == [0.0]


def test_one_trl_grpo_step_with_oprd_rewards(tmp_path):
    import datasets
    import trl

    from oprd.models.tiny import build_tiny_model

    model, tokenizer = build_tiny_model(seed=0)  # its own copy: the step changes the weights
    rows = [{"prompt": [{"role": "user", "content": f"What is {i} + 1?"}], "answer": str(i + 1) if i % 2 else None}
            for i in range(4)]
    verifier = Recorder(VerifierReward())
    votes = Recorder(MajorityVoteReward(answer_key="answer"))
    certainty = Recorder(SelfCertaintyReward(model, tokenizer))
    args = trl.GRPOConfig(output_dir=str(tmp_path / "trl"), max_steps=1, per_device_train_batch_size=4,
                          num_generations=2, max_completion_length=6, report_to=[], use_cpu=True, logging_steps=1,
                          save_strategy="no", seed=0)
    trainer = trl.GRPOTrainer(model=model, reward_funcs=[verifier, votes, certainty], args=args,
                              train_dataset=datasets.Dataset.from_list(rows), processing_class=tokenizer)
    trainer.train()
    assert trainer.state.global_step == 1
    (kwargs, verdicts), = verifier.calls
    assert all(isinstance(c, list) and c[0]["role"] == "assistant" for c in kwargs["completions"])
    assert "trainer_state" in kwargs and len(kwargs["completion_ids"]) == 4
    labeled = [gold is not None for gold in kwargs["answer"]]
    assert [v is not None for v in verdicts] == labeled  # unlabeled rows: None, TRL's "not applicable"
    (_, vote_rewards), = votes.calls
    assert [v is None for v in vote_rewards] == labeled
    (_, confidences), = certainty.calls
    log = trainer.state.log_history[0]
    assert log["rewards/oprd_self_certainty/mean"] == pytest.approx(sum(confidences) / 4, rel=1e-4)
    assert all(c > 0 for c in confidences)
