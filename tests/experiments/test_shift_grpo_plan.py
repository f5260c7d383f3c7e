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
    return _module.sampled_chunks(_module.wanted_prompts(12, SUBSETS, args), args)


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
    assert _module.sampled_chunks(list(range(8)), args, set(borrowed)) == [[0, 2, 4, 6, 7]]


def test_pass_rates_under_other_settings_are_refused(tmp_path):
    args = _module.parse_args(["--model", "m", "--samples", "8", "--max-new-tokens", "128"])
    with pytest.raises(OprdInputError, match="samples is 4, this run's 8"):
        _module.borrowed_pass_rates(pivottrace_results(tmp_path / "r.json"), None, args)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(OprdInputError, match="not a pivottrace_correlation.py results.json"):
        _module.borrowed_pass_rates(tmp_path / "bad.json", None, args)


def test_both_scripts_run_end_to_end_and_share_pass_rates(tmp_path):
    """pivottrace_correlation.py on chain_sum, then shift_grpo.py on a mixed pool borrowing its pass rates:
    every selected prompt ends with a pass rate, the borrowed ones are exactly the chain_sum prompts the
    PivotTrace run sampled, and a rerun with --no-new-samples reads the same numbers from the cache."""
    import json

    script = _SCRIPT.with_name("pivottrace_correlation.py")
    spec = importlib.util.spec_from_file_location("pivottrace_correlation", script)
    pivottrace = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = pivottrace
    spec.loader.exec_module(pivottrace)
    shared = ["--model", "tiny-random-llama", "--seed", "0", "--samples", "2", "--max-new-tokens", "4",
              "--batch-size", "8", "--bootstrap", "50"]
    pivottrace.main([*shared, "--tasks", "chain_sum", "--n", "4", "--k", "1", "--chunk", "4",
                     "--out", str(tmp_path / "pt")])
    pt = json.loads((tmp_path / "pt" / "results.json").read_text())
    assert pt["problem_ids"] == [f"chain_sum-0-{i}" for i in range(4)]
    # distinctive rates (the random model's own are all 0), so a borrowed value cannot pass for a sampled one
    pt["pass_rates"] = [0.25, 0.5, 0.75, 1.0]
    (tmp_path / "pt" / "results.json").write_text(json.dumps(pt))

    flags = [*shared, "--tasks", "basic_arithmetic,chain_sum", "--n", "16", "--budget", "0.25", "--chunk", "16",
             "--sample-chunk", "4", "--pass-rates-from", str(tmp_path / "pt" / "results.json")]
    _module.main([*flags, "--out", str(tmp_path / "shift")])
    first = json.loads((tmp_path / "shift" / "results.json").read_text())
    assert first["finished"]
    subsets = first["budgets"]["0.25"]
    assert all(entry["size"] == 4 and entry["sampled"] == 4 for name, entry in subsets.items() if "pooled" not in name)
    selected = {i for entry in subsets.values() for i in entry["indices"]}
    assert set(map(int, first["pass_rates"])) == selected
    borrowable = {i for i in selected if i % 2 == 1 and i // 2 < 4}  # chain_sum rows sit at odd positions
    assert borrowable and first["borrowed_pass_rates"] == len(borrowable)
    for i in borrowable:
        assert first["pass_rates"][str(i)] == pt["pass_rates"][i // 2]
    assert "greedy correct" in (tmp_path / "shift" / "table.md").read_text()

    _module.main([*flags, "--no-new-samples", "--out", str(tmp_path / "again")])
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    assert again["pass_rates"] == first["pass_rates"] and again["finished"]
