"""The math-verify side of the grader: parsing an answer, extracting one from free text, comparing.

Extraction from a completion without a box uses math-verify's own patterns (LaTeX and plain
expressions) and its final-answer priority: ``final answer is`` first, then ``answer:``, then any
math; within a priority the rightmost match that parses wins. Two guards are ours, for plain text: a
number that is a piece of a larger expression (``[[1, 2], [3, 4]]`` -> 4, ``x < 5`` -> 5) and an
unevaluated computation (``1 + 5``, which math-verify would credit for 6) are passed over.
All functions here run math-verify with its signal-based timeouts off; callers bound them with
:func:`oprd.verify.deadline.run_with_deadline`.
"""

from __future__ import annotations

import functools
import logging
import re
from itertools import groupby
from types import SimpleNamespace
from typing import Any

from oprd.verify.deadline import run_with_deadline
from oprd.verify.extract import Answer, is_piece

_MATH_MARKUP = re.compile(r"\$|\\boxed|\\fbox|\\\(|\\\[")
_PARSE_CACHE_SIZE = 8192
_COMPUTATION = re.compile(r"[+*×÷^]|(?<=[\d)\s])-")
_NUMBER_GROUPS = ("integer1", "decimal1", "integer2", "decimal2", "decimal3", "integer3", "expr")


@functools.lru_cache(maxsize=1)
def library() -> SimpleNamespace:
    """math-verify's functions and extraction patterns, imported and warmed up once (its first LaTeX
    parse imports more of sympy, ~0.3 s, which must not eat into a call's time limit)."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
    from math_verify.parser import extract_match, get_extraction_regexes

    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(lambda record: "Timeout is disabled" not in record.getMessage())
    targets = get_extraction_regexes([LatexExtractionConfig(), ExprExtractionConfig()])
    patterns = sorted(((pattern, target, priority) for group, target in targets for pattern, priority in group),
                      key=lambda item: item[2])
    by_priority = [[(pattern, target) for pattern, target, _ in group]
                   for _, group in groupby(patterns, key=lambda item: item[2])]
    verify(parse("$x=\\sqrt{8}$", parsing_timeout=None), parse("$2\\sqrt{2}$", parsing_timeout=None),
           timeout_seconds=None)
    return SimpleNamespace(parse=parse, verify=verify, extract_match=extract_match, by_priority=by_priority,
                           expr_config=ExprExtractionConfig)


@functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
def parse_answer(text: str) -> tuple[Any, ...]:
    """math-verify's reading of one answer (a gold, or a box's content). Plain answers are wrapped in
    ``$...$`` so LaTeX rules apply (``2^{n-1}`` would otherwise parse as its first number)."""
    parse = library().parse
    if _MATH_MARKUP.search(text):
        return tuple(parse(text, parsing_timeout=None))
    return tuple(parse(f"${text}$", parsing_timeout=None) or parse(text, parsing_timeout=None))


def extract(region: str) -> Answer | None:
    """The final answer math-verify's extraction finds in ``region`` (see the module docstring)."""
    lib = library()
    for group in lib.by_priority:
        matches = [(match, target) for pattern, target in group for match in pattern.finditer(region)]
        matches.sort(key=lambda item: (item[0].end(), -item[0].start()), reverse=True)
        for match, target in matches:
            if isinstance(target, lib.expr_config) and (_number_is_piece(region, match) or _is_computation(match)):
                continue
            value, text = lib.extract_match(match, target)
            if value is not None:
                return Answer(_answer_text(match, text), latex=not isinstance(target, lib.expr_config),
                              parsed=(value, text) if text else (value,))
    return None


def extract_within_deadline(region: str, timeout_s: float = 2.0) -> Answer | None:
    """:func:`extract` bounded by ``timeout_s`` (None on time-out), callable from any thread."""
    library()
    return run_with_deadline(lambda: extract(region), timeout_s, None)


def equal(gold: tuple[Any, ...], pred: tuple[Any, ...], float_rounding: int) -> bool:
    """math-verify's verdict on two parsed answers (gold first: the comparison is not symmetric)."""
    if not gold or not pred:
        return False
    return bool(library().verify(list(gold), list(pred), float_rounding=float_rounding, timeout_seconds=None))


def _number_is_piece(region: str, match: re.Match) -> bool:
    """A plain-number or expression match that sits inside a larger expression."""
    spans = [match.span(name) for name in _NUMBER_GROUPS if name in match.re.groupindex and match.group(name)]
    if not spans:
        return False
    return is_piece(region, min(start for start, _ in spans), max(end for _, end in spans))


def _is_computation(match: re.Match) -> bool:
    """A plain-text operator expression such as ``13 + 92``: a computation (often the question restated),
    not a final value; a lone fraction ``3/4`` is still an answer."""
    expr = match.groupdict().get("expr")
    return bool(expr) and _COMPUTATION.search(expr.strip().lstrip("-(")) is not None


def _answer_text(match: re.Match, text: str) -> str:
    """The extracted answer as a string: several joined answers as a set, a percent sign kept."""
    if " and " in text and any(name.startswith("next") and value for name, value in match.groupdict().items()):
        text = "\\{" + ", ".join(text.split(" and ")) + "\\}"
    if any(name.endswith("percent") and value for name, value in match.groupdict().items()):
        text += "\\%"
    return text
