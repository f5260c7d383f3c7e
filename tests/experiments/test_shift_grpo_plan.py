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
