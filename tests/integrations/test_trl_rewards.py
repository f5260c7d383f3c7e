"""oprd's rewards called as TRL calls reward functions: keywords, chat completions, columns, None for n/a."""

from __future__ import annotations

import pytest

from oprd.errors import OprdInputError
from oprd.integrations import (
    MajorityVoteReward,
    VerifierReward,
    completion_text,
    majority_vote_reward,
    verifier_reward,
)

CHAT = [{"role": "user", "content": "What is 2 + 2?"}]


def _chat(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def test_verifier_grades_plain_and_chat_completions_against_the_answer_column():
    completions = ["so \\boxed{4}", _chat("the answer is \\boxed{4}"), _chat("\\boxed{5}"), "no answer"]
    rewards = verifier_reward(prompts=[CHAT] * 4, completions=completions, completion_ids=[[1]] * 4,
                              answer=["4", "4", "4", None], trainer_state=object(), log_metric=print)
    assert rewards == [1.0, 1.0, 0.0, None]


def test_verifier_reads_a_nested_verl_column_and_names_a_missing_one():
    reward = VerifierReward(answer_key="reward_model.ground_truth")
    rewards = reward(prompts=["q", "q"], completions=["\\boxed{7}", "\\boxed{8}"],
                     reward_model=[{"style": "rule", "ground_truth": "7"}, {"style": "rule", "ground_truth": 7}])
    assert rewards == [1.0, 0.0]
    with pytest.raises(OprdInputError, match=r"column 'answer'.*columns passed: solution"):
        verifier_reward(prompts=["q"], completions=["\\boxed{1}"], solution=["1"], trainer_state=None)


def test_majority_vote_rewards_agreement_within_each_prompt_group():
    prompts = ["a", "a", "a", "b", "b"]
    completions = ["\\boxed{3}", "\\boxed{3.0}", "\\boxed{4}", "\\boxed{1}", "\\boxed{2}"]
    assert majority_vote_reward(prompts=prompts, completions=completions) == [1.0, 1.0, 0.0, 0.0, 0.0]
    chat_prompts = [CHAT, CHAT, [{"role": "user", "content": "other"}]]
    assert majority_vote_reward(prompts=chat_prompts, completions=[_chat("\\boxed{4}")] * 3) == [1.0, 1.0, 1.0]


def test_majority_vote_leaves_labeled_rows_to_the_verifier():
    reward = MajorityVoteReward(answer_key="answer")
    rewards = reward(prompts=["a", "a", "b", "b"], completions=["\\boxed{1}"] * 4, answer=["1", "1", None, None])
    assert rewards == [None, None, 1.0, 1.0]


def test_completions_in_another_form_say_which_form_they_are():
    assert completion_text(_chat("x") + [{"role": "assistant", "content": "y"}]) == "xy"
    with pytest.raises(OprdInputError, match=r"completions\[1\] is a single message object"):
        verifier_reward(prompts=["q", "q"], completions=["\\boxed{1}", {"role": "assistant", "content": "1"}],
                        answer=["1", "1"])
    with pytest.raises(OprdInputError, match=r"completions\[0\] is an int"):
        majority_vote_reward(prompts=["q"], completions=[3])
    with pytest.raises(OprdInputError, match="needs prompts beside completions"):
        majority_vote_reward(completions=["\\boxed{1}"])


def test_refined_verifier_follows_the_gold_until_a_rising_consistent_majority_replaces_a_noisy_label():
    from types import SimpleNamespace

    from oprd.integrations import RefinedVerifierReward
    from oprd.rlvr.methods.olr.refiner import OnlineLabelRefiner

    reward = RefinedVerifierReward(refiner=OnlineLabelRefiner(start_epoch=1, delta=0.05))
    prompts = ["What is 6 x 7?"] * 4
    noisy_gold = ["41"] * 4  # the label is wrong; the model's answers converge on 42
    visits = [["42", "13", "13", "9"], ["42", "42", "13", "9"], ["42", "42", "42", "9"], ["42", "42", "42", "42"]]
    history = []
    for epoch, answers in enumerate(visits):
        completions = [[{"role": "assistant", "content": f"\\boxed{{{a}}}"}] for a in answers]
        history.append(reward(prompts=prompts, completions=completions, answer=noisy_gold,
                              trainer_state=SimpleNamespace(epoch=float(epoch))))
    assert history[0] == [0.0, 0.0, 0.0, 0.0]  # before the start epoch the gold (41) is the label
    assert history[-1] == [1.0, 1.0, 1.0, 1.0]  # refined to the consistent, rising majority 42
    decision = reward.refiner.last_decision("What is 6 x 7?")
    assert decision.replaced and decision.label == "42"
    unlabeled = reward(prompts=["p", "p"], completions=["\\boxed{1}", "\\boxed{1}"], answer=[None, None],
                       trainer_state=SimpleNamespace(epoch=5.0))
    assert unlabeled == [None, None]
