"""TRL-style reward callables, reward sets that see dataset columns, loading user functions, TTRL votes."""

from __future__ import annotations

import pytest

import oprd.rlvr.rewards as rewards_module
from oprd.errors import OprdInputError
from oprd.rlvr.rewards import (
    RewardSet,
    accuracy_reward,
    format_reward,
    load_reward_function,
    majority_vote_rewards,
)

PROMPTS = ["p0", "p1", "p2", "p3"]


def test_accuracy_reward_checks_each_completion_against_its_answer():
    completions = ["so \\boxed{4}", "The answer is 5", "\\boxed{1/2}", "\\boxed{7}"]
    out = accuracy_reward(PROMPTS, completions, answer=["4", "4", "0.5", None])
    assert out == [1.0, 0.0, 1.0, 0.0]  # None (unlabeled) -> 0.0


def test_accuracy_reward_reads_chat_completions():
    completions = [[{"role": "assistant", "content": "it is \\boxed{12}"}]]
    assert accuracy_reward(["p"], completions, answer=["12"]) == [1.0]


def test_accuracy_reward_never_raises_on_verifier_failures(monkeypatch):
    def broken(completions, gold, **kwargs):
        raise RuntimeError("verifier blew up")

    monkeypatch.setattr(rewards_module, "reward_against", broken)
    assert accuracy_reward(["p"], ["\\boxed{3}"], answer=["3"]) == [0.0]


def test_accuracy_reward_on_odd_strings():
    completions = ["\\boxed{", "", "\\boxed{}}}{{", "\x00\x01"]
    assert accuracy_reward(PROMPTS, completions, answer=["1", "1", "1", "1"]) == [0.0, 0.0, 0.0, 0.0]


def test_accuracy_reward_without_an_answer_column():
    with pytest.raises(OprdInputError, match="needs the 'answer' column"):
        accuracy_reward(["p"], ["\\boxed{1}"])


def test_format_reward():
    completions = ["\\boxed{3}", "3", "\\boxed{}", "x \\boxed{\\frac{1}{2}} y"]
    assert format_reward(PROMPTS, completions) == [1.0, 0.0, 0.0, 1.0]


def test_reward_set_passes_dataset_columns_and_weights():
    seen = {}

    def difficulty_bonus(prompts, completions, difficulty, **columns):
        seen["columns"] = {"difficulty": difficulty, **columns}
        return [0.1 * d for d in difficulty]

    reward_set = RewardSet([accuracy_reward, difficulty_bonus], weights=[1.0, 2.0])
    total, per_function = reward_set(["a", "b"], ["\\boxed{2}", "\\boxed{9}"], answer=["2", "3"], difficulty=[1, 5],
                                     source=["gsm", "champ"])
    assert seen["columns"] == {"difficulty": [1, 5], "answer": ["2", "3"], "source": ["gsm", "champ"]}
    assert per_function["accuracy_reward"] == [1.0, 0.0]
    assert per_function["difficulty_bonus"] == pytest.approx([0.1, 0.5])
    assert total == pytest.approx([1.0 + 0.2, 0.0 + 1.0])


def test_reward_set_names_repeats_and_maps_none_to_zero():
    def maybe(prompts, completions, **columns):
        return [None, 1]

    total, per_function = RewardSet([maybe, maybe])(["a", "b"], ["x", "y"])
    assert list(per_function) == ["maybe", "maybe_2"]
    assert per_function["maybe"] == [0.0, 1.0] and total == [0.0, 2.0]


def test_reward_set_rejects_bad_setups_and_outputs():
    with pytest.raises(OprdInputError, match="at least one"):
        RewardSet([])
    with pytest.raises(OprdInputError, match="2 weights for 1 functions"):
        RewardSet([format_reward], weights=[1.0, 2.0])
    with pytest.raises(OprdInputError, match="must be callables"):
        RewardSet(["oprd.rlvr.rewards:format_reward"])

    def short(prompts, completions, **columns):
        return [1.0]

    with pytest.raises(OprdInputError, match="'short' returned 1 rewards for 2 completions"):
        RewardSet([short])(["a", "b"], ["x", "y"])

    def words(prompts, completions, **columns):
        return ["good", "bad"]

    with pytest.raises(OprdInputError, match="'words' must return a list of numbers"):
        RewardSet([words])(["a", "b"], ["x", "y"])


@pytest.mark.parametrize("path", ["oprd.rlvr.rewards:accuracy_reward", "oprd.rlvr.rewards.accuracy_reward"])
def test_load_reward_function_by_dotted_path(path):
    assert load_reward_function(path) is accuracy_reward


def test_load_reward_function_from_a_file(tmp_path):
    file = tmp_path / "my_rewards.py"
    file.write_text("def length_bonus(prompts, completions, **columns):\n    return [len(c) for c in completions]\n")
    function = load_reward_function(f"{file}:length_bonus")
    assert function(["p"], ["abc"]) == [3]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("no_such_module_for_oprd:reward", r"cannot import 'no_such_module_for_oprd' \(ModuleNotFoundError"),
        ("oprd.rlvr.rewards:no_such_reward", "has no attribute 'no_such_reward'"),
        ("oprd.rlvr.grpo:SCALES", "is a tuple, not a callable"),
        ("reward", "is not of the form pkg.module:func"),
        ("oprd.rlvr.rewards:", "is not of the form"),
        ("./missing_file.py:f", "does not exist"),
    ],
)
def test_load_reward_function_errors(path, message):
    with pytest.raises(OprdInputError, match=message):
        load_reward_function(path)


def test_load_reward_function_reports_errors_raised_while_importing(tmp_path):
    file = tmp_path / "broken_rewards.py"
    file.write_text("raise RuntimeError('bad config\\nsecond line')\n")
    with pytest.raises(OprdInputError) as caught:
        load_reward_function(f"{file}:f")
    assert "(RuntimeError: bad config)" in str(caught.value) and "\n" not in str(caught.value)


def test_majority_vote_rewards():
    completions = ["\\boxed{4}", "so 4", "\\boxed{5}", "\\boxed{4.0}", "no idea"]
    rewards, label = majority_vote_rewards(completions)
    assert label == "4"
    assert rewards == [1.0, 1.0, 0.0, 1.0, 0.0]


def test_majority_vote_rewards_tie_and_empty():
    assert majority_vote_rewards(["\\boxed{1}", "\\boxed{2}"]) == ([0.0, 0.0], None)
    assert majority_vote_rewards(["no", "answers"]) == ([0.0, 0.0], None)
    assert majority_vote_rewards([]) == ([], None)
