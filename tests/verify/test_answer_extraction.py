"""extract_answer: last box (nested braces, \\fbox, bare form), then math-verify's extraction (default)
or the last standalone number (last-number mode), else None."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oprd.verify import GraderOptions, extract_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so the answer is $\boxed{42}$.", "42"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
        (r"\boxed{\frac{\sqrt{3}}{2}} done", r"\frac{\sqrt{3}}{2}"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"first \boxed{1}, then \boxed{2}, finally \boxed{3}", "3"),
        (r"\boxed 5$ is it", "5"),
        (r"\fbox{7}", "7"),
        (r"\boxed{ x = 3 }", "x = 3"),
        (r"\boxed{\boxed{8}}", "8"),
        (r"\boxed{\text{(B)}}", r"\text{(B)}"),
        (r"\boxed{3} and then \boxed{4", "3"),  # an unclosed last box is skipped
        (r"\boxed{} but the sum is 9", "9"),  # an empty box is skipped
        ("The answer is -4.", "-4"),
        ("10 - 4 = 6", "6"),
        ("so 7-3 gives 4", "4"),
        ("a total of 1,000 apples", "1000"),
        ("1,234,567 dollars", "1234567"),
        ("The total is 1,000, which is even.", "1000"),
        ("it costs 2.50 today", "2.50"),
        ("probability 3/4", "3/4"),
        ("x = -0.5", "-0.5"),
        ("no numbers here", None),
        ("", None),
        (None, None),
    ],
)
def test_extract(text, expected):
    assert extract_answer(text) == expected


def test_box_wins_over_later_numbers():
    assert extract_answer(r"\boxed{12} (checked with 3 methods)") == "12"


@given(st.text())
def test_never_raises_and_returns_text_or_none(text):
    answer = extract_answer(text)
    assert answer is None or (isinstance(answer, str) and answer)


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_last_integer_round_trips(value):
    assert extract_answer(f"first 17, then {value:,}") == str(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("答案是42。", "42"),
        ("#### 1,234", "1234"),
        (r"so $\frac{2}{3}$", None),
        ("x < 5", None),
        ("the interval (1, 5)", None),
        ("the pair (12,102)", None),
        ("0,111 litres", "0.111"),
        (r"\boxed{7} after 9 tries", "7"),
    ],
)
def test_last_number_mode_takes_only_standalone_numbers(text, expected):
    assert extract_answer(text, GraderOptions(answer_extraction="last-number")) == expected
