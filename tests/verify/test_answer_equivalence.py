"""is_equivalent / reward_against: math-verify behind fast paths, a thread-safe time limit, never raising."""

from __future__ import annotations

import threading
import time

import pytest

from oprd.verify import equivalence, is_equivalent, reward_against


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("1/2", "0.5"),
        ("0.5", r"\frac{1}{2}"),
        (r"\frac{1}{2}", "1/2"),
        (r"$\frac{1}{2}$", "0.5"),
        (r"\boxed{\dfrac12}", "$0.5$"),
        ("x=3", "3"),
        ("3", "x = 3"),
        ("10", "10.0"),
        ("10.", "10"),
        ("1,000", "1000"),
        ("$1,000$", r"\boxed{1000}"),
        ("-4", "-4.00"),
        (r"2^{n-1}", "2^(n-1)"),
        (r"\sqrt{2}", "2^{1/2}"),
        ("1/3", "0.333333"),
        (" 7 ", "7"),
        ("Yes", "Yes"),
    ],
)
def test_equivalent(pred, gold):
    assert is_equivalent(pred, gold) is True


@pytest.mark.parametrize(
    ("pred", "gold"),
    [
        ("11", "10"),
        ("0.51", "1/2"),
        ("2", "2^{n-1}"),
        (r"\pi", "3.14159"),
        ("106475279602", "106475279601"),
        ("garbage", "xyz"),
        ("}}{{\\frac", "5"),
        ("", "5"),
        ("5", "  "),
        (None, "5"),
        ("5", None),
        (r"2^{2^{30}}", "5"),
        ("9^9^9", "5"),
        ("10^{10000000}", "5"),
    ],
)
def test_not_equivalent(pred, gold):
    assert is_equivalent(pred, gold) is False


def test_never_raises_on_odd_types():
    assert is_equivalent(5, "5") is True
    assert is_equivalent(object(), "5") is False


def test_works_from_a_worker_thread():
    results = {}

    def check():
        results["half"] = is_equivalent(r"\frac{1}{2}", "0.5")
        results["wrong"] = is_equivalent(r"\frac{1}{3}", "0.5")
        results["symbolic"] = is_equivalent(r"\sqrt{8}", r"2\sqrt{2}")

    worker = threading.Thread(target=check)
    worker.start()
    worker.join(30)
    assert results == {"half": True, "wrong": False, "symbolic": True}


def test_time_limit_holds_in_any_thread_and_stops_the_worker(monkeypatch):
    def spin(*args):
        while True:  # pure-Python busy loop, like a runaway sympy simplification
            pass

    monkeypatch.setattr(equivalence, "_math_verify_equal", spin)
    before = threading.active_count()
    outcome = {}

    def check():
        start = time.perf_counter()
        outcome["result"] = is_equivalent(r"\frac{1}{7}", r"\sqrt{5}", timeout_s=0.2)
        outcome["elapsed"] = time.perf_counter() - start

    caller = threading.Thread(target=check)
    caller.start()
    caller.join(10)
    assert outcome["result"] is False
    assert 0.2 <= outcome["elapsed"] < 1.5
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before  # the abandoned worker was stopped, not left spinning


def test_exceptions_inside_math_verify_give_false(monkeypatch):
    def boom(*args):
        raise RuntimeError("sympy exploded")

    monkeypatch.setattr(equivalence, "_math_verify_equal", boom)
    assert is_equivalent(r"\frac{1}{7}", r"\sqrt{5}") is False


def test_fast_paths_skip_math_verify(monkeypatch):
    def fail(*args):
        raise AssertionError("math-verify should not run")

    monkeypatch.setattr(equivalence, "run_with_deadline", fail)
    assert is_equivalent("12", "12") and is_equivalent("1,200", "1200") and is_equivalent("0.25", "1/4")
    assert not is_equivalent("12", "13")


def test_normal_inputs_are_cheap():
    is_equivalent("3/4", r"\frac{3}{4}")  # warm: imports and regex compilation
    start = time.perf_counter()
    for _ in range(50):
        is_equivalent("3/4", r"\frac{3}{4}")
    assert (time.perf_counter() - start) / 50 < 0.02


def test_reward_against():
    completions = [r"so \boxed{\frac{1}{2}}", "the answer is 0.5", r"\boxed{2}", "no idea", ""]
    assert reward_against(completions, "1/2") == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert reward_against(completions, None) == [0.0] * 5
    assert reward_against([], "1") == []


def test_time_limit_holds_in_the_main_thread_and_restores_the_alarm(monkeypatch):
    import signal

    def spin(*args):
        while True:
            pass

    monkeypatch.setattr(equivalence, "_math_verify_equal", spin)
    previous = signal.getsignal(signal.SIGALRM)
    start = time.perf_counter()
    assert is_equivalent(r"\frac{1}{7}", r"\sqrt{5}", timeout_s=0.2) is False
    assert 0.2 <= time.perf_counter() - start < 1.5
    assert signal.getsignal(signal.SIGALRM) is previous
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
