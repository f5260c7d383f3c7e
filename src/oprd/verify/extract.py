"""Find the final answer in a model's text: the last ``\\boxed{...}`` (or a run of boxes read as a set),
an ``<answer>`` tag, or a last number standing on its own; everything else is left to math-verify's
own extraction (``oprd.verify.mathverify``). Options: :class:`oprd.verify.options.GraderOptions`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oprd.verify.options import GraderOptions, default_options

_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BARE_BOX_ARG = re.compile(r"\s+([^\s$]+)")
# What may stand between boxes that together form one answer: \boxed{1}, \boxed{2} and \boxed{3}.
_BOX_JOINER = re.compile(r"(?:[\s,;$&]|\\[()\[\]]|\\q?quad|\\text\{\s*(?:and|or|,)?\s*\}|\band\b|\bor\b)*")
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_PROSE = re.compile(r"(?<![\\{A-Za-z])[A-Za-z]{2,}\s+[A-Za-z]{2,}")
# A number: 1,000 (comma groups) | 1,5 (decimal comma) | 12.5 | .5 | 3/4; not glued to a word, a brace,
# an operator or another comma-joined number before or after it.
_GROUPED = r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?"
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.{^_/\\&])(?<!\d,)(?:(?<![A-Za-z0-9_)\]}])-)?"
    rf"(?:{_GROUPED}|\d+,\d+|\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?|\.\d+)(?![\d.]\d|,\d)"
)
_GROUPED_NUMBER = re.compile(rf"-?{_GROUPED}")
_RELATION_BEFORE = re.compile(r"(?:[<>≤≥≠]|\\(?:le|leq|ge|geq|lt|gt|ne|neq|in|subset|subseteq))\s*$")


@dataclass(frozen=True)
class Answer:
    """A final answer. ``latex``: read as LaTeX (a box or tag: ``1,5`` is two elements) rather than
    plain text (``1,5`` is 1.5). ``parsed``: math-verify's reading when math-verify found it."""

    text: str
    latex: bool = True
    parsed: tuple | None = None


@dataclass(frozen=True)
class Search:
    """No box (or tag) decided the answer: math-verify's extraction must search ``region``."""

    region: str


def extract_answer(text: str | None, options: GraderOptions | None = None) -> str | None:
    """The final answer of ``text`` as a string, or None (see :func:`locate_answer`).

    ``\\boxed{\\frac{1}{2}}`` -> ``\\frac{1}{2}``; ``\\boxed{1}, \\boxed{2}`` -> ``\\{1, 2\\}`` (multi_box
    set); without a box math-verify's extraction decides (``The answer is $\\frac{2}{3}$.`` ->
    ``\\frac{2}{3}``), or the last standalone number in ``last-number`` mode. Never raises.
    """
    options = options or default_options()
    try:
        found = locate_answer(text, options)
        if isinstance(found, Search):
            from oprd.verify.mathverify import extract_within_deadline

            found = extract_within_deadline(found.region)
        return found.text if found is not None and found.text else None
    except Exception:
        return None


def locate_answer(text: str | None, options: GraderOptions) -> Answer | Search | None:
    """The answer found without math-verify, a :class:`Search` when math-verify must look, or None."""
    if not text:
        return None
    if options.strip_reasoning:
        text = strip_reasoning(text)
        if text is None:
            return None
    if options.answer_extraction == "answer-tag":
        return _from_tag(text, options)
    boxed = final_boxes(text, options.multi_box)
    if boxed is not None:
        return Answer(boxed)
    if options.answer_extraction == "last-number":
        number = last_number(text)
        return Answer(number, latex=False) if number is not None else None
    return Search(text)


def strip_reasoning(text: str) -> str | None:
    """The text after the last ``</think>``; None when a ``<think>`` block is never closed."""
    if _THINK_CLOSE in text:
        return text.rsplit(_THINK_CLOSE, 1)[1]
    if _THINK_OPEN in text:
        return None
    return text


def final_boxes(text: str, multi_box: str = "set") -> str | None:
    """The last box's content; with ``set``, the trailing run of boxes joined only by commas, ``and``,
    ``or`` or math delimiters, as ``\\{a, b\\}`` when they differ."""
    boxes = _boxes(text)
    if not boxes:
        return None
    run = [boxes[-1]]
    if multi_box == "set":
        for previous in reversed(boxes[:-1]):
            if not _BOX_JOINER.fullmatch(text[previous[1] : run[0][0]]):
                break
            run.insert(0, previous)
    contents = list(dict.fromkeys(content for _, _, content in run))
    return contents[0] if len(contents) == 1 else "\\{" + ", ".join(contents) + "\\}"


def last_number(text: str) -> str | None:
    """The last number that stands on its own (``1,000`` -> ``1000``), never a piece of a larger
    expression: not a fraction's part, an exponent, a matrix entry, a relation's side or an interval end."""
    for match in reversed(list(_NUMBER.finditer(text))):
        if not is_piece(text, match.start(), match.end()):
            number = match.group(0)
            return number.replace(",", "") if _GROUPED_NUMBER.fullmatch(number) else number.replace(",", ".")
    return None


def is_piece(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` is part of a larger expression rather than an answer of its own."""
    glued_before = text[start - 1] if start > 0 else " "
    glued_after = text[end] if end < len(text) else " "
    if glued_before in "{^_/\\&" or glued_after in "}^_&/\\":
        return True  # a fraction's part, an exponent, a subscript, a matrix entry
    before, after = text[:start].rstrip(), text[end:].lstrip()
    if _RELATION_BEFORE.search(before) or after.startswith(("&", "\\\\", "\\end")):
        return True  # a relation's side, a matrix entry
    prev_char, next_char = before[-1:], after[:1]
    if prev_char == "," and next_char and next_char in ")]}":
        return True  # the upper end of an interval, the last element of a tuple
    if prev_char and prev_char in "([" and next_char and next_char in ",;":
        return True  # the lower end of an interval, the first element of a tuple
    return bool(prev_char and prev_char in "([" and next_char and next_char in ")]" and "," in text[start:end])


def strip_boxes(content: str) -> str:
    """``\\boxed{3}`` and ``\\boxed{\\boxed{3}}`` -> ``3``: strip boxes that wrap the whole string."""
    while (match := _BOX.match(content)) and content.startswith("{", match.end()):
        if _closing_brace(content, match.end()) != len(content) - 1:
            break
        content = content[match.end() + 1 : -1].strip()
    return content


def _from_tag(text: str, options: GraderOptions) -> Answer | Search | None:
    """The last ``<answer>`` tag: its box, its whole content when that is one expression, else a search."""
    tags = _ANSWER_TAG.findall(text)
    if not tags:
        return None
    content = tags[-1].strip()
    if not content:
        return None
    boxed = final_boxes(content, options.multi_box)
    if boxed is not None:
        return Answer(boxed)
    if _PROSE.search(content):
        return Search(content)
    return Answer(content, latex="$" in content or "\\" in content)


def _boxes(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, content)`` of every non-empty, closed top-level box (nested boxes are content)."""
    found: list[tuple[int, int, str]] = []
    position = 0
    while (match := _BOX.search(text, position)) is not None:
        start = match.end()
        if text.startswith("{", start):
            close = _closing_brace(text, start)
            if close is None:
                position = start
                continue
            content, position = text[start + 1 : close].strip(), close + 1
        else:
            bare = _BARE_BOX_ARG.match(text, start)
            if bare is None:
                position = start
                continue
            content, position = bare.group(1), bare.end()
        content = strip_boxes(content)
        if content:
            found.append((match.start(), position, content))
    return found


def _closing_brace(text: str, open_at: int) -> int | None:
    """Index of the brace closing the one at ``open_at`` (escaped ``\\{``/``\\}`` ignored), or None."""
    depth = 0
    index = open_at
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None
