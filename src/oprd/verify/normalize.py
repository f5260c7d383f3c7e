"""Answer-string clean-up before comparison: paired delimiters, whole-string boxes, currency signs,
digit-group separators, and the exact reading of plain numbers.

Every rule looks at the whole answer, never at a piece of it, so a tuple ``(12,102)`` or an interval
``[1,250]`` keeps its comma, and a ``$`` is removed only where it pairs with another one.
"""

from __future__ import annotations

import re
from fractions import Fraction

from oprd.verify.extract import strip_boxes

_PAIRED = (("$$", "$$"), ("\\(", "\\)"), ("\\[", "\\]"), ("$", "$"))
_MATH_MARKUP = re.compile(r"[$\\{}]")
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")
# Currency written before or after a number: $5, \$5, \text{\$}5, €5, 5\$, 5 dollars is left to math-verify.
_CURRENCY = r"(?:\\\$|\$|\\text\{\\\$\}|\\textdollar|\\euro|\\pounds|€|£|¥|₹)"
_LEADING_CURRENCY = re.compile(rf"^(-?)\s*{_CURRENCY}\s*(?=[-\d.])")
_TRAILING_CURRENCY = re.compile(rf"(?<=[\d.])\s*{_CURRENCY}$")
# A whole answer that is one number with digit groups: 1,000 | 12,345.5 | 5{,}000 | 5\,000 | 1 000.
_GROUPED = re.compile(r"-?[1-9]\d{0,2}(?:(?:,|\{,\}|\\,|\\ |\\!| )\d{3})+(?:\.\d+)?")
_SEPARATOR = re.compile(r"\{,\}|\\,|\\ |\\!|[, ]")
# A plain number: -3, 2.5, .5, 3/4; and a decimal comma as plain text writes it: 0,111 and 1,5.
_PLAIN = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:/\d+)?")
_DECIMAL_COMMA = re.compile(r"-?\d+,\d+")
_TRAILING_PUNCTUATION = re.compile(r"(?<![\\.])\.$")


def normalise(text: str, *, latex: bool | None = None) -> str:
    """Strip space, one pair of math delimiters, whole-string boxes, a final period, currency signs,
    and digit-group separators of a whole-string number (``\\$1,000`` -> ``1000``).

    ``latex``: the text is LaTeX (default: it carries math markup), where ``1,5`` is two elements;
    in plain text a lone comma between digits is a decimal comma (``0,111`` -> ``0.111``).
    """
    text = text.strip()
    if latex is None:
        latex = bool(_MATH_MARKUP.search(text))
    text = strip_delimiters(text)
    text = strip_boxes(text)
    text = _TRAILING_PUNCTUATION.sub("", text).rstrip()
    text = strip_currency(text)
    if _GROUPED.fullmatch(text):
        return _SEPARATOR.sub("", text)
    if not latex and _DECIMAL_COMMA.fullmatch(text):
        return text.replace(",", ".")
    return text


def strip_delimiters(text: str) -> str:
    """``$x$`` -> ``x`` only when the two signs pair: ``$1$ and $2$`` keeps all of its signs."""
    for opening, closing in _PAIRED:
        if len(text) > len(opening) + len(closing) and text.startswith(opening) and text.endswith(closing):
            inner = text[len(opening) : -len(closing)]
            if "$" in opening and _UNESCAPED_DOLLAR.search(inner):
                continue  # the outer signs belong to two different math spans
            return inner.strip()
    return text


def strip_currency(text: str) -> str:
    """``\\$18`` / ``$18`` / ``€18`` / ``18\\$`` -> ``18`` (a sign before or after a number only; a bare
    ``$`` only when it is the text's one unescaped dollar, so it cannot be a math delimiter)."""
    if len(_UNESCAPED_DOLLAR.findall(text)) > 1:
        return text
    stripped = _LEADING_CURRENCY.sub(r"\1", text, count=1)
    stripped = _TRAILING_CURRENCY.sub("", stripped, count=1)
    return stripped.strip()


def plain_number(text: str) -> Fraction | None:
    """The exact value of a normalised plain number (``-3``, ``2.5``, ``.5``, ``3/4``), else None."""
    if not _PLAIN.fullmatch(text):
        return None
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None


def is_integer_text(text: str) -> bool:
    """An integer written in digits (compared exactly, however large)."""
    return re.fullmatch(r"-?\d+", text) is not None
