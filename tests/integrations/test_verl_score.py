"""The verl reward: compute_score called with verl's keyword names, and loaded by file path as verl loads it."""

from __future__ import annotations

import importlib.util

import oprd.integrations.verl as verl_module
from oprd.integrations.verl import compute_score


def test_compute_score_with_verls_argument_names():
    extra = {"split": "train", "index": 3}
    assert compute_score(data_source="openai/gsm8k", solution_str="... so \\boxed{72}", ground_truth="72",
                         extra_info=extra) == 1.0
    assert compute_score(data_source="openai/gsm8k", solution_str="\\boxed{71}", ground_truth="72",
                         extra_info=extra) == 0.0
    assert compute_score(data_source="x", solution_str="\\boxed{0.5}", ground_truth=["1/2", "0.5"]) == 1.0
    assert compute_score(data_source="x", solution_str="\\boxed{1}", ground_truth=None, extra_info=None) == 0.0
    # newer verl reward loops pass more keywords; they are accepted
    assert compute_score(data_source="x", solution_str="\\boxed{2}", ground_truth=2, extra_info={},
                         reward_router_address=None, reward_model_tokenizer=None) == 1.0


def test_loaded_by_file_path_as_verls_custom_reward_function():
    spec = importlib.util.spec_from_file_location("custom_module", verl_module.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    score = getattr(module, "compute_score")
    assert score(data_source="d", solution_str="\\boxed{3}", ground_truth="3", extra_info={}) == 1.0


def test_last_number_variant_reads_gsm8k_style_answers():
    from oprd.integrations.verl import compute_score_last_number

    response = "Natalia sold 48 clips in April and 24 in May, 48 + 24 = 72.\n#### 72"
    assert compute_score_last_number(data_source="openai/gsm8k", solution_str=response, ground_truth="72",
                                     extra_info={"index": 0}) == 1.0
    assert compute_score_last_number(data_source="openai/gsm8k", solution_str="#### 71", ground_truth="72",
                                     extra_info=None) == 0.0
