"""grade(): (gold, completion, verdict) cases per class, and the grader options.

Each class names the bug or rule it pins: currency inside a box, digit groups only for a whole number,
tuples / intervals / sets keep their commas, unpaired dollar signs, no credit for a piece of a larger
expression, multiple boxes, thinking blocks, decimal commas, unreadable golds.
"""

from __future__ import annotations

import pytest

from oprd.errors import OprdInputError
from oprd.verify import (
    GraderOptions,
    default_options,
    grade,
    grader_options_from,
    set_default_options,
    using_options,
)

CASES = {
    "currency": [
        ("18", r"So she pays \boxed{\$18}.", 1.0),
        ("1000", r"\boxed{\$1,000}", 1.0),
        ("18", r"\boxed{18\$}", 1.0),
        ("18.50", r"\boxed{\$18.5}", 1.0),
        ("$18", r"\boxed{18}", 1.0),
        ("18", r"\boxed{\$19}", 0.0),
        ("5", r"\boxed{\text{\$}5}", 1.0),
    ],
    "commas": [
        ("1000", r"\boxed{1,000}", 1.0),
        ("1234567", r"\boxed{1,234,567}", 1.0),
        ("12102", r"\boxed{12,102}", 1.0),
        ("1100", r"\boxed{(1,100)}", 0.0),
        ("1250", r"\boxed{[1,250]}", 0.0),
        ("5000", r"\boxed{5{,}000}", 1.0),
        ("111", r"\boxed{0,111}", 0.0),
    ],
    "tuples": [
        ("$(5, 250)$", r"\boxed{(5,250)}", 1.0),
        ("(12,102)", r"\boxed{(12,102)}", 1.0),
        ("12102", r"\boxed{(12,102)}", 0.0),
        ("(1, 2)", r"\boxed{(2, 1)}", 0.0),
    ],
    "intervals": [
        (r"$[1, 250]$", r"\boxed{[1,250]}", 1.0),
        (r"$(-\infty, 3)$", r"\boxed{(-\infty,3)}", 1.0),
        ("5", r"so $x \in (1, 5)$ works", 0.0),
        ("5", "the interval (1, 5)", 0.0),
    ],
    "sets": [
        (r"$\{1,2,3\}$", r"\boxed{\{3,2,1\}}", 1.0),
        ("$1$ and $2$ and $3$", r"\boxed{\{1,2,3\}}", 1.0),
        ("$1$ and $2$ and $3$", r"\boxed{3}", 0.0),
    ],
    "fractions": [
        ("1/2", r"\boxed{\frac{1}{2}}", 1.0),
        ("0.5", r"\boxed{\dfrac12}", 1.0),
        ("3", r"The answer is $\frac{2}{3}$.", 0.0),
        (r"\frac{2}{3}", r"The answer is $\frac{2}{3}$.", 1.0),
        ("2", r"The answer is $\frac{1}{2}$", 0.0),
    ],
    "matrices": [
        (r"$\begin{pmatrix}1&2\\3&4\end{pmatrix}$", r"\boxed{\begin{pmatrix}1&2\\3&4\end{pmatrix}}", 1.0),
        ("4", r"$\begin{pmatrix}1&2\\3&4\end{pmatrix}$", 0.0),
        ("4", "[[1, 2], [3, 4]]", 0.0),
    ],
    "relations": [
        ("3", r"\boxed{x = 3}", 1.0),
        ("5", r"so $x < 5$", 0.0),
        ("5", "so x < 5", 0.0),
        (r"$x \le 5$", r"\boxed{x \leq 5}", 1.0),
    ],
    "percentages": [
        ("10", r"\boxed{10\%}", 1.0),
        (r"10\%", r"\boxed{10}", 1.0),
        ("0.1", "The answer is 10%", 1.0),
        ("20", r"\boxed{10\%}", 0.0),
    ],
    "multiple boxes": [
        (r"$\{1,2,3\}$", r"\boxed{1}, \boxed{2}, \boxed{3}", 1.0),
        (r"$\{1,2\}$", r"\boxed{1} and \boxed{2}", 1.0),
        ("2", r"First \boxed{1}. Wait, I made an error: \boxed{2}", 1.0),
        ("2", r"\boxed{1}, \boxed{2}", 0.0),
    ],
    "unboxed": [
        ("-4", "The answer is -4.", 1.0),
        ("6", "10 - 4 = 6", 1.0),
        ("1000", "a total of 1,000 apples", 1.0),
        ("7", "no answer here", 0.0),
        ("3", r"Final answer: $3$", 1.0),
        ("6", "For any integer, 1 + 5 is calculated by adding the two numbers.", 0.0),  # a restated computation
        ("105", "To calculate 13 + 92, we can do the following:\n\n13 + 92", 0.0),
        ("0.75", "The probability is 3/4", 1.0),
    ],
    "decimal commas": [
        ("0.111", r"\boxed{0,111}", 1.0),
        ("1,5", "The answer is 1.5", 1.0),
        ("1.5", "The answer is 1,5", 1.0),
        ("1.5", r"\boxed{1,5}", 0.0),
    ],
    "unpaired dollars": [
        ("$1$ and $2$ and $3$", r"\boxed{\{1, 2, 3\}}", 1.0),
        ("$1$ and $2$ and $3$", "3", 0.0),
        ("$5", "it costs $5 in total", 1.0),
    ],
}


@pytest.mark.parametrize(("gold", "completion", "verdict"),
                         [case for cases in CASES.values() for case in cases],
                         ids=[f"{name}-{i}" for name, cases in CASES.items() for i in range(len(cases))])
def test_case(gold, completion, verdict):
    assert grade(completion, gold) == verdict


THINK = GraderOptions(strip_reasoning=True)


@pytest.mark.parametrize(
    ("completion", "verdict"),
    [
        (r"<think>maybe \boxed{3}</think> so \boxed{3}", 1.0),
        (r"<think>maybe \boxed{3}</think> so \boxed{4}", 0.0),
        (r"<think>I think \boxed{3} but the budget ran out", 0.0),  # unclosed: no answer
        (r"reasoning in the prompt's <think></think> so \boxed{3}", 1.0),
        (r"plain \boxed{3}", 1.0),
    ],
)
def test_thinking_blocks(completion, verdict):
    assert grade(completion, "3", THINK) == verdict


def test_thinking_blocks_count_without_the_option():
    assert grade(r"<think>I think \boxed{3} but the budget ran out", "3") == 1.0


def test_multi_box_last_reads_only_the_last_box():
    last = GraderOptions(multi_box="last")
    assert grade(r"\boxed{1}, \boxed{2}, \boxed{3}", "3", last) == 1.0
    assert grade(r"\boxed{1}, \boxed{2}, \boxed{3}", r"$\{1,2,3\}$", last) == 0.0


def test_answer_tag_mode():
    tag = GraderOptions(answer_extraction="answer-tag")
    assert grade(r"<answer>\frac{1}{2}</answer>", "1/2", tag) == 1.0
    assert grade(r"<answer>\frac{1}{2}</answer>", "2", tag) == 0.0
    assert grade(r"<answer>The result is 12.</answer>", "12", tag) == 1.0
    assert grade(r"no tag \boxed{12}", "12", tag) == 0.0


def test_last_number_mode():
    numbers = GraderOptions(answer_extraction="last-number")
    assert grade("so she has 18 apples left", "18", numbers) == 1.0
    assert grade(r"the ratio is $\frac{2}{3}$", "3", numbers) == 0.0
    assert grade("#### 1,234", "1234", numbers) == 1.0


def test_float_rounding():
    assert grade(r"\boxed{0.3333331}", "1/3") == 1.0
    assert grade(r"\boxed{0.3333331}", "1/3", GraderOptions(float_rounding=9)) == 0.0


@pytest.mark.parametrize("gold", ["}}{{", "", "   "])
def test_unreadable_gold_scores_zero_or_is_skipped(gold):
    assert grade(r"\boxed{3}", gold) == 0.0
    assert grade(r"\boxed{3}", gold, GraderOptions(unreadable_gold="skip")) is None
    assert grade("no answer", gold, GraderOptions(unreadable_gold="skip")) is None


def test_unlabeled_gold_is_zero_even_when_skipping():
    assert grade(r"\boxed{3}", None, GraderOptions(unreadable_gold="skip")) == 0.0


def test_default_options_scope():
    skip = GraderOptions(unreadable_gold="skip")
    with using_options(skip):
        assert default_options() is skip and grade(r"\boxed{3}", "}}{{") is None
    assert default_options() == GraderOptions()
    try:
        set_default_options(GraderOptions(multi_box="last"))
        assert grade(r"\boxed{1}, \boxed{2}", "2") == 1.0
    finally:
        set_default_options(GraderOptions())
    assert grade(r"\boxed{1}, \boxed{2}", "2") == 0.0


def test_options_from_config_keys_and_bad_values():
    options = grader_options_from({"grader_multi_box": "last", "grader_float_rounding": 4, "other": 1},
                                  prefix="grader_")
    assert options == GraderOptions(multi_box="last", float_rounding=4)
    for bad in ({"answer_extraction": "first-number"}, {"multi_box": "all"}, {"unreadable_gold": "nan"},
                {"float_rounding": -1}, {"strip_reasoning": "yes"}):
        with pytest.raises(OprdInputError, match=next(iter(bad))):
            GraderOptions(**bad)


def test_never_raises_on_odd_input():
    for completion in [None, "", "\\boxed{", "\\boxed{}}}{{", "\x00\x01", "$" * 50, "\\frac{" * 30]:
        assert grade(completion, "1") == 0.0
    assert grade(r"\boxed{5}", 5) == 1.0
