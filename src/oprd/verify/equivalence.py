"""Are two final answers the same? Fast string/number checks first, then math-verify, under a time limit.

Timeout design. math-verify's own timeouts use ``signal.alarm``, which works only in the main thread
(and fails outright elsewhere), while selection, training and evaluation call the verifier from worker
threads. So math-verify runs with its timeouts disabled (``parsing_timeout=None``,
``timeout_seconds=None``) in a fresh daemon thread per call, and the caller waits on it with
``Thread.join(timeout_s)``; this works from any thread. On time-out the caller answers False at once
and the abandoned worker is stopped by raising ``SystemExit`` inside it
(``PyThreadState_SetAsyncExc``): sympy is pure Python, so the exception lands at the next bytecode and
the thread ends instead of burning CPU (``SystemExit`` because math-verify swallows ``Exception``, and
because ``threading`` ignores it silently if it escapes). What no Python-level limit can stop is one
long C-level operation that holds the GIL, such as a huge integer power: inputs shaped like that
(power towers, exponents of 7+ digits) are refused up front as not equivalent. The thread costs
about 0.1 ms per call, small beside math-verify's ~0.5 ms; exact and plain-number matches skip it.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import re
import threading
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from oprd.verify.extract import extract_answer, strip_boxes

_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_INTEGER = re.compile(r"-?\d+")
_PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:/\d+(?:\.\d*)?)?")
_POWER = re.compile(r"\^|\*\*")
_LONG_DIGITS = re.compile(r"\d{7,}")
_MATH_MARKUP = re.compile(r"\$|\\boxed|\\fbox|\\\(|\\\[")
_PARSE_CACHE_SIZE = 8192


def is_equivalent(pred: str | None, gold: str | None, *, timeout_s: float = 2.0) -> bool:
    """True when answer ``pred`` equals answer ``gold`` (numerically, symbolically or as text).

    Plain and wrapped forms both work (``0.5``, ``$\\frac{1}{2}$``, ``\\boxed{1/2}``). Never raises:
    None, garbage, errors and time-outs (``timeout_s`` seconds, see the module docstring) give False.
    """
    if pred is None or gold is None:
        return False
    try:
        pred_text, gold_text = _normalise(str(pred)), _normalise(str(gold))
        if not pred_text or not gold_text:
            return False
        if pred_text == gold_text:
            return True
        numeric = _numbers_equal(pred_text, gold_text)
        if numeric is not None:
            return numeric
        if _too_costly(pred_text) or _too_costly(gold_text):
            return False
        _math_verify()  # import and warm up (about a second, once) before the clock starts
        return _run_with_deadline(lambda: _math_verify_equal(pred_text, gold_text), timeout_s)
    except Exception:
        return False


def reward_against(completions: Sequence[str], gold: str | None, *, timeout_s: float = 2.0) -> list[float]:
    """1.0 for each completion whose extracted answer is equivalent to ``gold``, else 0.0."""
    return [float(is_equivalent(extract_answer(text), gold, timeout_s=timeout_s)) for text in completions]


def _normalise(text: str) -> str:
    """Strip space, math delimiters, whole-string boxes, one trailing period and thousands commas."""
    text = text.strip()
    for opening, closing in _DELIMITERS:
        if len(text) > len(opening) + len(closing) and text.startswith(opening) and text.endswith(closing):
            text = text[len(opening) : -len(closing)].strip()
            break
    text = strip_boxes(text)
    if text.endswith("."):
        text = text[:-1].rstrip()
    return _THOUSANDS_COMMA.sub("", text)


def _numbers_equal(pred: str, gold: str) -> bool | None:
    """Exact answer for two plain numbers: integers compare exactly either way; other numbers only
    short-cut when equal (None otherwise, so math-verify's float rounding still applies)."""
    if _INTEGER.fullmatch(pred) and _INTEGER.fullmatch(gold):
        return int(pred) == int(gold)
    if _PLAIN_NUMBER.fullmatch(pred) and _PLAIN_NUMBER.fullmatch(gold):
        try:
            return True if Fraction(pred) == Fraction(gold) else None
        except (ValueError, ZeroDivisionError):
            return None
    return None


def _too_costly(text: str) -> bool:
    """A power tower or a 7+ digit exponent: sympy would evaluate it in one uninterruptible C call."""
    for match in _POWER.finditer(text):
        exponent, end = _exponent(text, match.end())
        if _POWER.search(exponent) or _LONG_DIGITS.search(exponent) or _POWER.match(text[end:].lstrip()):
            return True
    return False


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


@functools.lru_cache(maxsize=1)
def _math_verify() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """math-verify's ``parse`` and ``verify``, imported and warmed up once (its first LaTeX parse and
    simplification import more of sympy, ~0.3 s, which must not eat into a call's time limit), with
    its "timeout is disabled" notice silenced (we time out ourselves)."""
    from math_verify import parse, verify

    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(lambda record: "Timeout is disabled" not in record.getMessage())
    warm_gold, warm_pred = parse("$x=\\sqrt{8}$", parsing_timeout=None), parse("$2\\sqrt{2}$", parsing_timeout=None)
    verify(warm_gold, warm_pred, timeout_seconds=None)
    return parse, verify


@functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _parsed(text: str) -> tuple[Any, ...]:
    """math-verify's parse of an answer; plain answers are wrapped in ``$...$`` so LaTeX rules apply
    (``2^{n-1}`` or ``\\sqrt{2}`` would otherwise parse as just their first number)."""
    parse, _ = _math_verify()
    if _MATH_MARKUP.search(text):
        return tuple(parse(text, parsing_timeout=None))
    return tuple(parse(f"${text}$", parsing_timeout=None) or parse(text, parsing_timeout=None))


def _math_verify_equal(pred: str, gold: str) -> bool:
    _, verify = _math_verify()
    gold_parsed, pred_parsed = _parsed(gold), _parsed(pred)
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(list(gold_parsed), list(pred_parsed), timeout_seconds=None))


def _run_with_deadline(work: Callable[[], bool], timeout_s: float) -> bool:
    """``work()`` in a fresh daemon thread; False if it fails or is still running after ``timeout_s``."""
    result: list[bool] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException:  # an error, or the SystemExit sent on time-out: no result means False
            return

    worker = threading.Thread(target=target, name="oprd-verify", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        _stop(worker)
        return False
    return bool(result) and result[0]


def _stop(worker: threading.Thread) -> None:
    """Raise SystemExit inside ``worker`` at its next Python bytecode (CPython's async-exception API)."""
    if worker.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(SystemExit))
