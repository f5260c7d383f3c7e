"""OnlineLabelRefiner on hand-made histories: slope, consistency, ties and NONE, schedules, stickiness, state.

A visit is written as (majority answer, how many of the K = 8 answers it got); the other answers are
distinct one-off numbers, so the majority and its pass rate count / 8 are known exactly.
"""

from __future__ import annotations

import json

import pytest

from oprd.errors import OprdInputError
from oprd.rlvr.methods.olr.refiner import (
    NOISY_LABEL,
    OnlineLabelRefiner,
    most_frequent_answer,
    ols_slope,
)

K = 8


def answers(majority: str, count: int, k: int = K) -> list[str]:
    return [majority] * count + [str(100_000 + i) for i in range(k - count)]


def run(refiner: OnlineLabelRefiner, visits, *, start: int = 0, stored: str = NOISY_LABEL, pid: str = "p"):
    """Observe ``visits`` at epochs start, start + 1, ...; the labels returned."""
    return [refiner.observe(pid, answers(m, c), start + i, stored) for i, (m, c) in enumerate(visits)]


def test_ols_slope_by_hand():
    assert ols_slope([0.0, 0.5, 1.0]) == pytest.approx(0.5)
    # x mean 1.5, y mean 0.5: covariance 0.75 - 0.25 - 0.25 + 0.75 = 1, variance 2.25 + 0.25 + 0.25 + 2.25 = 5
    assert ols_slope([0.0, 1.0, 0.0, 1.0]) == pytest.approx(0.2)
    assert ols_slope([0.3, 0.3, 0.3]) == 0.0
    assert ols_slope([0.9]) == 0.0 and ols_slope([]) == 0.0


def test_most_frequent_answer_is_unique_equivalence_aware_and_counts_none():
    assert most_frequent_answer(["1", "2", "1"]) == "1"
    assert most_frequent_answer(["2", "1", "1.0"]) == "1"  # "1" and "1.0" are one answer
    assert most_frequent_answer(["1", "2"]) is None  # tie
    assert most_frequent_answer(["5", None, None]) is None  # NONE is the most frequent entry
    assert most_frequent_answer(["5", "5", None]) == "5"
    assert most_frequent_answer([]) is None


def test_every_visit_is_recorded_and_the_stored_label_used_before_refinement():
    refiner = OnlineLabelRefiner()
    labels = run(refiner, [("3", 2), ("3", 4), ("7", 5)])
    assert labels == [NOISY_LABEL] * 3
    assert refiner.history("p") == (["3", "3", "7"], [0.25, 0.5, 0.625])
    assert refiner.history("never seen") == ([], [])


def test_tied_visit_has_no_majority_and_zero_pass_rate():
    refiner = OnlineLabelRefiner(start_epoch=-1)
    assert refiner.observe("p", ["1", "1", "2", "2"], 0, "9") == "9"
    decision = refiner.last_decision("p")
    assert decision.majority is None and decision.pass_rate == 0.0 and not decision.consistent
    assert refiner.observe("q", [None, None], 0, "9") == "9"
    assert refiner.history("q") == ([None], [0.0])


def test_refines_after_the_start_epoch_when_rising_and_consistent():
    refiner = OnlineLabelRefiner()  # delta 0.05, start epoch 4
    labels = run(refiner, [("42", c) for c in (2, 3, 4, 5, 6, 7)])  # epochs 0..5, slope 1/8 per visit
    assert labels == [NOISY_LABEL] * 5 + ["42"]
    decision = refiner.last_decision("p")
    assert decision.slope == pytest.approx(0.125) and decision.consistent and decision.active and decision.replaced
    assert (decision.majority, decision.pass_rate, decision.visits) == ("42", 7 / 8, 6)


def test_start_epoch_is_exclusive():
    refiner = OnlineLabelRefiner(start_epoch=2)
    labels = run(refiner, [("42", c) for c in (2, 3, 4, 5)])  # epochs 0..3
    assert labels == [NOISY_LABEL, NOISY_LABEL, NOISY_LABEL, "42"]
    refiner = OnlineLabelRefiner(start_epoch=2)
    run(refiner, [("42", c) for c in (2, 3, 4)])
    assert not refiner.last_decision("p").active


def test_slope_condition_is_non_strict():
    assert run(OnlineLabelRefiner(delta=0.125, start_epoch=-1), [("42", 2), ("42", 3)])[-1] == "42"
    assert run(OnlineLabelRefiner(delta=0.126, start_epoch=-1), [("42", 2), ("42", 3)])[-1] == NOISY_LABEL
    # 0.30 - 0.25 is 0.04999999999999999 in floats: still >= 0.05
    refiner = OnlineLabelRefiner(delta=0.05, start_epoch=-1)
    labels = [refiner.observe("p", answers("42", c, k=20), i, NOISY_LABEL) for i, c in enumerate((5, 6))]
    assert labels == [NOISY_LABEL, "42"]  # one point: slope 0


def test_falling_pass_rate_keeps_the_stored_label():
    labels = run(OnlineLabelRefiner(start_epoch=-1), [("42", c) for c in (7, 6, 5, 4)])
    assert labels == [NOISY_LABEL] * 4


def test_majority_that_disagrees_with_the_history_is_not_used():
    refiner = OnlineLabelRefiner()
    labels = run(refiner, [("7", 2)] * 5 + [("9", 6)])  # H_m = 7,7,7,7,7,9; p jumps at the end
    decision = refiner.last_decision("p")
    assert labels[-1] == NOISY_LABEL
    assert decision.slope >= 0.05 and decision.active and not decision.consistent


def test_tied_history_is_inconsistent_until_the_tie_breaks():
    labels = run(OnlineLabelRefiner(start_epoch=-1), [("7", 2), ("7", 3), ("9", 4), ("9", 5), ("9", 6)])
    # visit 1: one point, slope 0; visit 2: rising, h = m = 7; visit 3: h = 7 (x2) but m = 9;
    # visit 4: 7 x2 vs 9 x2 tie -> h is NONE; visit 5: 9 x3 -> consistent again
    assert labels == [NOISY_LABEL, "7", NOISY_LABEL, NOISY_LABEL, "9"]


def test_none_visits_count_in_the_history():
    refiner = OnlineLabelRefiner(start_epoch=-1)
    labels = [refiner.observe("p", [str(i) for i in range(8)], i, NOISY_LABEL) for i in range(3)]  # all tied
    labels.append(refiner.observe("p", answers("5", 8), 3, NOISY_LABEL))
    # H_m = NONE, NONE, NONE, 5 (NONE most frequent); H_p = 0, 0, 0, 1 rises
    assert labels == [NOISY_LABEL] * 4
    assert refiner.last_decision("p").slope >= 0.05
    assert refiner.history("p")[0] == [None, None, None, "5"]


def test_current_tie_never_replaces():
    refiner = OnlineLabelRefiner(start_epoch=-1)
    run(refiner, [("42", c) for c in (2, 3, 4)])
    assert refiner.observe("p", ["42", "42", "1", "1"], 3, NOISY_LABEL) == NOISY_LABEL


REVERSAL = [("42", c) for c in (2, 3, 4, 5, 6, 7)] + [("42", 2)]
# after the drop, H_p * 8 = 2, 3, 4, 5, 6, 7, 2: covariance with x - 3 is 10 / 8, variance 28 -> slope 0.0446


def test_not_sticky_decides_anew_each_visit():
    refiner = OnlineLabelRefiner()
    labels = run(refiner, REVERSAL)
    assert labels[-2:] == ["42", NOISY_LABEL]
    assert refiner.last_decision("p").slope == pytest.approx(10 / 8 / 28)
    assert not refiner.last_decision("p").replaced


def test_sticky_keeps_a_replacement_once_made():
    refiner = OnlineLabelRefiner(sticky=True)
    labels = run(refiner, REVERSAL)
    assert labels[-2:] == ["42", "42"]
    assert refiner.last_decision("p").replaced


def test_the_stored_label_is_only_read():
    refiner = OnlineLabelRefiner(start_epoch=-1)
    run(refiner, [("42", 2), ("42", 4)], stored="41")
    assert refiner.observe("p", answers("42", 1), 2, "41") == "41"  # falls back to what the caller passes


def test_window_limits_the_history_used():
    visits = [("42", c) for c in (6, 6, 6, 6, 2, 3, 4)]  # falling overall, rising over the last 3
    assert run(OnlineLabelRefiner(start_epoch=-1), visits)[-1] == NOISY_LABEL
    assert run(OnlineLabelRefiner(start_epoch=-1, window=3), visits)[-1] == "42"
    windowed = OnlineLabelRefiner(start_epoch=-1, window=3)
    run(windowed, [("7", 2)] * 3 + [("9", c) for c in (2, 3, 4)])
    assert windowed.last_decision("p").replaced  # the old majority 7 fell out of the window


def test_min_visits_replaces_the_epoch_rule():
    refiner = OnlineLabelRefiner(min_visits=3)
    labels = [refiner.observe("p", answers("42", c), 0, NOISY_LABEL) for c in (2, 3, 4)]
    assert labels == [NOISY_LABEL, NOISY_LABEL, "42"]


def test_prompts_keep_separate_histories():
    refiner = OnlineLabelRefiner(start_epoch=-1)
    run(refiner, [("42", 2), ("42", 5)], pid="a")
    assert run(refiner, [("42", 5)], pid="b") == [NOISY_LABEL]
    assert refiner.history("b") == (["42"], [5 / 8])


def test_state_round_trips_through_json():
    original = OnlineLabelRefiner(sticky=True)
    run(original, REVERSAL[:-1], pid="a")
    run(original, [("3", 4), ("5", 5)], pid="b")
    restored = OnlineLabelRefiner(sticky=True)
    restored.load_state_dict(json.loads(json.dumps(original.state_dict())))
    assert restored.history("a") == original.history("a") and restored.history("b") == original.history("b")
    for refiner in (original, restored):
        assert refiner.observe("a", answers("42", 2), 6, NOISY_LABEL) == "42"  # the sticky replacement survived
        assert refiner.observe("b", answers("5", 6), 6, NOISY_LABEL) == "5"  # H_m = 3, 5, 5; H_p rising
    assert restored.state_dict() == original.state_dict()


def test_load_state_rejects_a_foreign_state():
    with pytest.raises(OprdInputError, match="expected 1"):
        OnlineLabelRefiner().load_state_dict({"version": 99, "prompts": {}})
    with pytest.raises(OprdInputError, match="corrupt"):
        OnlineLabelRefiner().load_state_dict({"version": 1, "prompts": {"a": {"majorities": ["1"], "pass_rates": []}}})


def test_schedule_warning():
    assert "refinement never runs" in OnlineLabelRefiner(start_epoch=4).schedule_warning(5)
    assert OnlineLabelRefiner(start_epoch=4).schedule_warning(6) is None
    assert OnlineLabelRefiner(start_epoch=9, min_visits=5).schedule_warning(3) is None


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [({"delta": float("nan")}, "delta"), ({"start_epoch": 1.5}, "start_epoch"), ({"window": 1}, "window"),
     ({"min_visits": 0}, "min_visits"), ({"sticky": "yes"}, "sticky")],
)
def test_bad_parameters(kwargs, param):
    with pytest.raises(OprdInputError, match=f"'{param}' parameter of OnlineLabelRefiner"):
        OnlineLabelRefiner(**kwargs)
