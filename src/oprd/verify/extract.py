"""Pull the final answer out of a model's text: the last ``\\boxed{...}``, else the last number."""

from __future__ import annotations

import re

_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BARE_BOX_ARG = re.compile(r"\s+([^\s$]+)")
# A number: 1,000 (comma groups) | 12.5 | .5 | 3/4, not glued to an ASCII word ("x2", "v1.2"), with a
# minus sign only where it cannot be a subtraction (not right after a letter, digit or closing bracket).
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_)\]}.])(?:(?<![A-Za-z0-9_)\]}])-)?"
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d|,\d)|\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?|\.\d+)"
)


def extract_answer(text: str | None) -> str | None:
    """The content of the last complete ``\\boxed{...}`` / ``\\fbox{...}`` / ``\\boxed x``, else the last
    number in ``text`` (``-3``, ``2.5``, ``3/4``; ``1,000`` -> ``"1000"``), else None.

    Braces nest (``\\boxed{\\frac{1}{2}}`` -> ``\\frac{1}{2}``); an unclosed or empty box is skipped.
    """
    if not text:
        return None
    boxed = _last_box(text)
    if boxed is not None:
        return boxed
    numbers = _NUMBER.findall(text)
    return numbers[-1].replace(",", "") if numbers else None


def _last_box(text: str) -> str | None:
    """Content of the last non-empty, closed top-level box; boxes inside a box belong to its content."""
    found: str | None = None
    position = 0
    while (match := _BOX.search(text, position)) is not None:
        start = match.end()
        if text.startswith("{", start):
            end = _closing_brace(text, start)
            if end is None:
                position = start
                continue
            content, position = text[start + 1 : end].strip(), end + 1
        else:
            bare = _BARE_BOX_ARG.match(text, start)
            if bare is None:
                position = start
                continue
            content, position = bare.group(1), bare.end()
        content = strip_boxes(content)
        if content:
            found = content
    return found


def strip_boxes(content: str) -> str:
    """``\\boxed{3}`` and ``\\boxed{\\boxed{3}}`` -> ``3``: strip boxes that wrap the whole string."""
    while (match := _BOX.match(content)) and content.startswith("{", match.end()):
        if _closing_brace(content, match.end()) != len(content) - 1:
            break
        content = content[match.end() + 1 : -1].strip()
    return content


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
