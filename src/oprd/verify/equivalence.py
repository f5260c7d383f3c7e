"""Are two final answers the same? Fast string and exact-number checks first, then math-verify under a
time limit (``oprd.verify.deadline``), never raising.

Inputs shaped like a power tower or a 7+ digit exponent are refused up front as not equivalent: sympy
would evaluate them in one C-level call that no Python-level time limit can interrupt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from oprd.verify import mathverify
from oprd.verify.deadline import run_with_deadline
from oprd.verify.normalize import is_integer_text, normalise, plain_number
from oprd.verify.options import GraderOptions, default_options

_POWER = re.compile(r"\^|\*\*")
_LONG_DIGITS = re.compile(r"\d{7,}")


def is_equivalent(pred: str | None, gold: str | None, *, timeout_s: float = 2.0,
                  options: GraderOptions | None = None) -> bool:
    """True when answer ``pred`` equals answer ``gold`` (numerically, symbolically or as text).

    Plain and wrapped forms both work (``0.5``, ``$\\frac{1}{2}$``, ``\\boxed{1/2}``, ``\\$1,000``).
    Never raises: None, garbage, errors and time-outs (``timeout_s`` seconds) give False.
    """
    if pred is None or gold is None:
        return False
    options = options or default_options()
    try:
        pred_text, gold_text = normalise(str(pred)), normalise(str(gold))
        if not pred_text or not gold_text:
            return False
        quick = quick_verdict(pred_text, gold_text)
        if quick is not None:
            return quick
        mathverify.library()  # import and warm up (about a second, once) before the clock starts
        return run_with_deadline(lambda: _math_verify_equal(pred_text, gold_text, options.float_rounding),
                                 timeout_s, False)
    except Exception:
        return False


def quick_verdict(pred: str, gold: str) -> bool | None:
    """The verdict on two normalised answers without math-verify where it is certain: equal strings, two
    integers (exact however large), equal plain numbers; False for inputs too costly to evaluate;
    None = ask math-verify."""
    if pred == gold:
        return True
    if is_integer_text(pred) and is_integer_text(gold):
        return int(pred) == int(gold)
    pred_number, gold_number = plain_number(pred), plain_number(gold)
    if pred_number is not None and gold_number is not None and pred_number == gold_number:
        return True  # unequal numbers still go to math-verify: its float rounding applies
    if too_costly(pred) or too_costly(gold):
        return False
    return None


def too_costly(text: str) -> bool:
    """A power tower or a 7+ digit exponent: sympy would evaluate it in one uninterruptible C call."""
    for match in _POWER.finditer(text):
        exponent, end = _exponent(text, match.end())
        if _POWER.search(exponent) or _LONG_DIGITS.search(exponent) or _POWER.match(text[end:].lstrip()):
            return True
    return False


def equal_parsed(gold_parsed: Sequence, pred_parsed: Sequence, float_rounding: int) -> bool:
    """math-verify's verdict on already parsed answers."""
    return mathverify.equal(tuple(gold_parsed), tuple(pred_parsed), float_rounding)


def _math_verify_equal(pred: str, gold: str, float_rounding: int = 6) -> bool:
    return mathverify.equal(mathverify.parse_answer(gold), mathverify.parse_answer(pred), float_rounding)


def _exponent(text: str, start: int) -> tuple[str, int]:
    """The exponent written at ``text[start:]`` (a {...} or (...) group, else one token) and its end."""
    while start < len(text) and text[start].isspace():
        start += 1
    if start < len(text) and text[start] in "{(":
        opening, closing = text[start], "}" if text[start] == "{" else ")"
        depth = 0
        for index in range(start, len(text)):
            depth += (text[index] == opening) - (text[index] == closing)
            if depth == 0:
                return text[start + 1 : index], index + 1
        return text[start + 1 :], len(text)
    token = re.match(r"[\w.\\]*", text[start:])
    end = start + (len(token.group(0)) if token else 0)
    return text[start:end], end
