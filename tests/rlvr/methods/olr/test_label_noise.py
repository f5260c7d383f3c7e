"""Label-noise simulation: corrupting rows, per-visit active noise, and the noise metrics."""

from __future__ import annotations

import copy
import random

import pytest

from oprd.errors import OprdInputError
from oprd.rlvr.methods.olr.refiner import (
    NOISY_LABEL,
    active_noise_label,
    corrupt_rows,
    noise_metrics,
)
from oprd.verify import reward_against


def _rows():
    rows = [{"id": f"r{i}", "prompt": f"q{i}", "answer": str(i)} for i in range(10)]
    rows += [{"id": "u0", "prompt": "unlabeled", "answer": None}, {"id": "u1", "prompt": "no answer key"}]
    return rows


def test_inactive_corruption_keeps_the_truth_and_never_touches_the_input():
    rows = _rows()
    before = copy.deepcopy(rows)
    out = corrupt_rows(rows, 0.5, mode="inactive", seed=0)
    assert rows == before
    noisy = [row for row in out if row.get("noise") == "inactive"]
    assert len(noisy) == 5  # round(0.5 * 10 labeled rows)
    assert all(row["answer"] == NOISY_LABEL for row in noisy)
    labeled = [row for row in out if "original_answer" in row]
    assert [row["original_answer"] for row in labeled] == [str(i) for i in range(10)]
    assert all(row["answer"] == row["original_answer"] and row["noise"] is None for row in labeled if row not in noisy)
    assert out[10:] == before[10:]  # unlabeled rows copied unchanged


def test_corruption_is_seeded():
    picks = lambda seed: [row["id"] for row in corrupt_rows(_rows(), 0.3, seed=seed) if row.get("noise")]
    assert picks(1) == picks(1)
    assert len(picks(1)) == 3
    assert any(picks(1) != picks(seed) for seed in range(2, 6))


@pytest.mark.parametrize(("rho", "n_noisy"), [(0.0, 0), (1.0, 10), (0.25, 3)])
def test_noise_rate_extremes_and_rounding(rho, n_noisy):
    assert sum(row.get("noise") is not None for row in corrupt_rows(_rows(), rho)) == n_noisy


def test_active_corruption_marks_rows_and_keeps_a_sentinel():
    out = corrupt_rows(_rows(), 0.2, mode="active", seed=3)
    noisy = [row for row in out if row.get("noise") == "active"]
    assert len(noisy) == 2 and all(row["answer"] == NOISY_LABEL for row in noisy)


def test_nested_answer_key():
    rows = [{"prompt": "q", "reward_model": {"ground_truth": "7", "style": "rule"}}]
    out = corrupt_rows(rows, 1.0, answer_key="reward_model.ground_truth")
    assert out[0]["reward_model"] == {"ground_truth": NOISY_LABEL, "style": "rule"}
    assert out[0]["original_answer"] == "7"
    assert rows[0]["reward_model"]["ground_truth"] == "7"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"rho": 1.5}, "'rho' parameter of corrupt_rows must be a float in \\[0, 1\\]"),
     ({"rho": -0.1}, "'rho' parameter"),
     ({"rho": 0.5, "mode": "sometimes"}, "'mode' parameter of corrupt_rows must be one of inactive, active"),
     ({"rho": 0.5, "answer_key": "solution"}, "no row has an answer under 'solution'")],
)
def test_bad_corruption_requests(kwargs, message):
    with pytest.raises(OprdInputError, match=message):
        corrupt_rows(_rows(), **kwargs)


def test_corrupting_twice_is_refused():
    with pytest.raises(OprdInputError, match="looks corrupted already"):
        corrupt_rows(corrupt_rows(_rows(), 0.5), 0.5)


def test_the_sentinel_matches_no_answer():
    completions = ["\\boxed{0}", "\\boxed{noisy-label}", "the answer is 1", "\\boxed{x}"]
    assert reward_against(completions, NOISY_LABEL) == [0.0, 0.0, 0.0, 0.0]


def test_active_noise_label_draws_uniformly_from_distinct_wrong_answers():
    group = ["4", "5", "5", "5", "5.0", "6", None, "4.0"]  # wrong answers: 5 (x4, counted once) and 6
    counts = {"5": 0, "6": 0}
    rng = random.Random(0)
    for _ in range(400):
        counts[active_noise_label(group, "4", rng)] += 1
    assert counts["5"] + counts["6"] == 400
    assert 150 < counts["5"] < 250  # binomial(400, 1/2): mean 200, sd 10


def test_active_noise_label_falls_back_to_the_sentinel():
    assert active_noise_label(["4", "4.0", None], "4", random.Random(0)) == NOISY_LABEL
    assert active_noise_label([], "4", random.Random(0)) == NOISY_LABEL


def test_noise_metrics_by_hand():
    labels = ["1", NOISY_LABEL, "3", "4", "9", "6"]
    truths = ["1", "2", "3.0", "4", "5", "6"]
    noisy = [True, True, True, False, False, False]
    accuracies = [0.5, 0.25, 0.0, 1.0, 0.5, 0.75]
    metrics = noise_metrics(labels, truths, noisy, accuracies)
    assert metrics == pytest.approx({
        "n_noisy": 3.0, "n_clean": 3.0,
        "noisy_label_correct": 2 / 3,  # "1" and "3" (= 3.0) recovered, the sentinel not
        "clean_wrongly_replaced": 1 / 3,  # "9" instead of 5
        "accuracy_noisy": 0.75 / 3, "accuracy_clean": 2.25 / 3,
    })


def test_noise_metrics_leave_out_empty_subsets():
    metrics = noise_metrics(["1"], ["1"], [False])
    assert metrics == {"n_noisy": 0.0, "n_clean": 1.0, "clean_wrongly_replaced": 0.0}
    with pytest.raises(ValueError, match="one entry per prompt"):
        noise_metrics(["1"], ["1", "2"], [False])
