"""Class 6: degenerate data is refused with one line naming the row, never passed on silently."""

import pytest

from oprd.data import Pool
from oprd.errors import OprdInputError
from oprd.features.layers import check_layer_spec, resolve_layers
from oprd.models.context import check_prompt_lengths
from oprd.rlvr.config import GRPOConfig
from oprd.selectors.pipeline import SelectionConfig
from oprd.selectors.preflight import preflight_selection


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t ", [{"role": "user", "content": "  "}],
                                    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": ""}],
                                    [{"role": "system", "content": "Be brief."}]])
def test_empty_and_whitespace_prompts_are_errors(prompt):
    with pytest.raises(OprdInputError, match="row index 1: prompt 'prompt' is empty or only whitespace"):
        Pool.from_rows([{"prompt": "1+1?"}, {"prompt": prompt}])


def test_unknown_chat_role_is_an_error_naming_it():
    with pytest.raises(OprdInputError, match="role 'usr'; roles must be one of system, user, assistant"):
        Pool.from_rows([{"prompt": [{"role": "usr", "content": "1+1?"}]}])
    ok = Pool.from_rows([{"prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "1+1?"}]}])
    assert ok.n == 1


def test_boolean_answer_is_an_error_not_gold_true():
    with pytest.raises(OprdInputError, match="found a boolean"):
        Pool.from_rows([{"prompt": "Is 2 prime?", "answer": True}])
    assert Pool.from_rows([{"prompt": "Is 2 prime?", "answer": "true"}, {"prompt": "1", "answer": 1}]).answers == ["true", "1"]


def test_prompt_over_the_character_cap(monkeypatch):
    monkeypatch.setattr("oprd.limits.MAX_PROMPT_CHARS", 10)
    with pytest.raises(OprdInputError, match="11 characters, more than the limit of 10"):
        Pool.from_rows([{"prompt": "x" * 11}])


def test_negative_layers_count_from_the_end_and_the_error_says_so():
    assert resolve_layers("-1", 4) == [4] and resolve_layers("-5", 4) == [0]
    with pytest.raises(OprdInputError, match=r"indices in 0\.\.4 \(negative ones count from the end: -1 = 4, -5 = 0\)"):
        resolve_layers("-6", 4)
    with pytest.raises(OprdInputError, match="last_k:K with K >= 1"):
        check_layer_spec("last_k:0")


@pytest.mark.parametrize("field, value, bound", [("max_new_tokens", 99999999999, "262144"), ("batch_size", 10**6, "65536"),
                                                  ("chunk_size", 0, "[1, 65536]"), ("seed", -1, "4294967295")])
def test_selection_sizes_have_upper_bounds_in_the_error(field, value, bound):
    with pytest.raises(OprdInputError, match=f"'{field}' parameter of SelectionConfig must be an int in .*{bound}"):
        preflight_selection(SelectionConfig(**{field: value}))


@pytest.mark.parametrize("field, value", [("group_size", 10**9), ("batch_size", 10**6), ("micro_batch_size", 10**7),
                                          ("max_new_tokens", 10**9), ("max_steps", 10**12), ("eval_k", 5000)])
def test_training_sizes_have_upper_bounds(field, value):
    with pytest.raises(OprdInputError, match=f"'{field}' parameter of GRPOConfig must be an int in"):
        GRPOConfig(data="x.jsonl", **{field: value}).validate()


def test_prompt_plus_rollout_must_fit_the_context():
    check_prompt_lengths([[1] * 10], ["a"], context=20, max_new_tokens=10, source="p")
    with pytest.raises(OprdInputError, match=r"p: 1 prompt\(s\) .* \(longest: id 'b', 15 prompt tokens\).* at most 5"):
        check_prompt_lengths([[1] * 10, [1] * 15], ["a", "b"], context=20, max_new_tokens=10, source="p")
    with pytest.raises(OprdInputError, match="leaves no room"):
        check_prompt_lengths([[1]], ["a"], context=20, max_new_tokens=20, source="p")
    check_prompt_lengths([[1] * 99], ["a"], context=None, max_new_tokens=10, source="p")  # unknown context: no check
