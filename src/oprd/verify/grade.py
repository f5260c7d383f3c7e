"""Score a completion against a gold answer: 1.0, 0.0, or None (skip) for an unreadable gold.

The steps (``docs/grader.md``): drop the reasoning block if asked; find the answer (box, tag, last
number, or math-verify's extraction); compare with exact checks first and math-verify after, all
math-verify work bounded by one time limit per call.
"""

from __future__ import annotations

from collections.abc import Sequence

from oprd.verify import mathverify
from oprd.verify.deadline import run_with_deadline
from oprd.verify.equivalence import quick_verdict
from oprd.verify.extract import Answer, Search, locate_answer
from oprd.verify.normalize import normalise, plain_number
from oprd.verify.options import GraderOptions, default_options


def grade(completion: str | None, gold: str | None, options: GraderOptions | None = None, *,
          timeout_s: float = 2.0) -> float | None:
    """1.0 when the completion's final answer equals ``gold``, else 0.0; never raises.

    A None gold (an unlabeled row) gives 0.0. A gold math-verify reads no math from gives 0.0, or None with
    ``unreadable_gold="skip"`` (TRL's convention: the row gets no reward from this function).
    Errors and time-outs (``timeout_s`` seconds for all math-verify work of the call) give 0.0.
    """
    options = options or default_options()
    if gold is None:
        return 0.0
    try:
        gold_text = normalise(str(gold))
        if not gold_text:
            return None if options.unreadable_gold == "skip" else 0.0
        gold_is_number = plain_number(gold_text) is not None
        found = locate_answer(completion, options)
        if gold_is_number:  # a number is always readable: settle the easy cases without math-verify
            if found is None:
                return 0.0
            if isinstance(found, Answer):
                quick = _quick(found, gold_text)
                if quick is not None:
                    return float(quick)
        mathverify.library()  # import and warm up (about a second, once) before the clock starts
        return run_with_deadline(lambda: _grade_slow(found, gold_text, gold_is_number, options), timeout_s, 0.0)
    except Exception:
        return 0.0


def reward_against(completions: Sequence[str], gold: str | None, *, timeout_s: float = 2.0,
                   options: GraderOptions | None = None, skipped: float | None = 0.0) -> list[float | None]:
    """1.0 for each completion whose final answer is equivalent to ``gold``, else 0.0. A gold skipped
    as unreadable (``unreadable_gold="skip"``) gives ``skipped``: 0.0 by default, so callers that count
    or average get plain floats; the training reward passes None."""
    options = options or default_options()
    scores = [grade(text, gold, options, timeout_s=timeout_s) for text in completions]
    return [skipped if score is None else score for score in scores]


def _grade_slow(found: Answer | Search | None, gold_text: str, gold_is_number: bool,
                options: GraderOptions) -> float | None:
    """The part that needs math-verify: the gold's reading, the extraction, the comparison."""
    gold_parsed = mathverify.parse_answer(gold_text)
    if not gold_is_number and all(isinstance(value, str) for value in gold_parsed):
        return None if options.unreadable_gold == "skip" else 0.0
    if isinstance(found, Search):
        found = mathverify.extract(found.region)
    if found is None:
        return 0.0
    quick = _quick(found, gold_text)
    if quick is not None:
        return float(quick)
    pred_parsed = found.parsed or mathverify.parse_answer(normalise(found.text, latex=found.latex))
    return float(mathverify.equal(gold_parsed, pred_parsed, options.float_rounding))


def _quick(found: Answer, gold_text: str) -> bool | None:
    pred_text = normalise(found.text, latex=found.latex)
    if not pred_text:
        return False
    return quick_verdict(pred_text, gold_text)
