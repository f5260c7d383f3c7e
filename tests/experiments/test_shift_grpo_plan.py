"""The sampling plan of experiments/shift_grpo.py: which prompts get pass@G samples, in which chunks and
order, so two processes with opposite ``--chunk-order`` sample every chunk between them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from oprd.errors import OprdInputError

_SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "shift_grpo.py"
_spec = importlib.util.spec_from_file_location("shift_grpo", _SCRIPT)
_module = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _module
_spec.loader.exec_module(_module)

SUBSETS = {0.1: {"shift": np.array([9, 2, 5]), "random (seed 0)": np.array([5, 7, 11]), "kcenter": np.array([0])}}


def plan(*flags: str) -> list[list[int]]:
    args = _module.parse_args(["--chunk", "2", *flags])
    return _module.sampled_chunks(12, SUBSETS, args)


def test_selected_scope_samples_each_selected_prompt_once_in_order():
    assert plan() == [[0, 2], [5, 7], [9, 11]]


def test_sample_chunks_may_differ_from_the_feature_chunks():
    assert plan("--sample-chunk", "4") == [[0, 2, 5, 7], [9, 11]]
    with pytest.raises(OprdInputError, match="--sample-chunk must be an int >= 1"):
        plan("--sample-chunk", "0")


def test_backward_order_visits_the_same_chunks_last_to_first():
    forward, backward = plan("--chunk-order", "forward"), plan("--chunk-order", "backward")
    assert backward == forward[::-1]
    assert sorted(i for part in backward for i in part) == [0, 2, 5, 7, 9, 11]


def test_pool_scope_covers_the_pool_and_defaults_to_backward():
    assert plan("--pass-scope", "pool") == [[10, 11], [8, 9], [6, 7], [4, 5], [2, 3], [0, 1]]
    assert plan("--pass-scope", "pool", "--chunk-order", "forward")[0] == [0, 1]


@pytest.mark.parametrize("budget", ["0", "1.5", "a,b"])
def test_a_budget_outside_zero_one_is_refused(budget):
    with pytest.raises(OprdInputError, match="--budget"):
        _module.parse_args(["--budget", budget])


def pivottrace_results(path: Path, **settings) -> Path:
    """A results.json as pivottrace_correlation.py writes it, over the first three chain_sum problems."""
    import json

    from common import make_pool

    base = {"model": "m", "tasks": "chain_sum", "n": 6, "seed": 0, "samples": 4, "max_new_tokens": 128}
    rows = make_pool("chain_sum", 6, 0).rows[:3]
    path.write_text(json.dumps({"settings": {**base, **settings}, "problem_ids": [r["id"] for r in rows],
                                "pass_rates": [0.25, 0.0, 1.0]}))
    return path


def test_pass_rates_of_the_same_prompts_are_borrowed_by_id_and_text(tmp_path):
    from common import make_pool

    pool = make_pool("basic_arithmetic,chain_sum", 8, 0)  # chain_sum rows at odd positions
    args = _module.parse_args(["--model", "m", "--samples", "4", "--max-new-tokens", "128"])
    borrowed = _module.borrowed_pass_rates(pivottrace_results(tmp_path / "r.json"), pool, args)
    assert borrowed == {1: 0.25, 3: 0.0, 5: 1.0}
    assert all(pool.rows[i]["source"] == "chain_sum" for i in borrowed)
    assert _module.sampled_chunks(8, {0.5: {"shift": np.arange(8)}}, args, set(borrowed)) == [[0, 2, 4, 6, 7]]


def test_pass_rates_under_other_settings_are_refused(tmp_path):
    args = _module.parse_args(["--model", "m", "--samples", "8", "--max-new-tokens", "128"])
    with pytest.raises(OprdInputError, match="samples is 4, this run's 8"):
        _module.borrowed_pass_rates(pivottrace_results(tmp_path / "r.json"), None, args)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(OprdInputError, match="not a pivottrace_correlation.py results.json"):
        _module.borrowed_pass_rates(tmp_path / "bad.json", None, args)
