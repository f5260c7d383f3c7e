"""How the grader reads a completion and a gold answer (``docs/grader.md``).

One :class:`GraderOptions` value travels with a call, or the process default applies
(:func:`set_default_options`, :func:`using_options`): ``oprd-train`` and ``oprd eval`` set the default
from their flags, so the training reward, in-training evaluation and majority votes grade alike.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from oprd.errors import param_error

ANSWER_EXTRACTIONS = ("boxed", "last-number", "answer-tag")
MULTI_BOX = ("set", "last")
UNREADABLE_GOLD = ("zero", "skip")


@dataclass(frozen=True)
class GraderOptions:
    """Grader settings.

    answer_extraction: ``boxed`` (the final ``\\boxed{}``; without one, math-verify's own extraction,
    LaTeX then plain expressions, final-answer phrases first), ``last-number`` (the box, else the last
    number standing on its own: GSM8K-style), ``answer-tag`` (the last ``<answer>...</answer>``).
    multi_box: ``set`` (boxes written one after another, ``\\boxed{1}, \\boxed{2}``, form one set
    answer, as math-verify and TRL read them) or ``last`` (only the last box counts).
    strip_reasoning: drop ``<think>...</think>`` before extracting; an unclosed block gives no answer.
    float_rounding: decimal places floats are rounded to before comparing (math-verify's, 6).
    unreadable_gold: a gold answer that parses to nothing scores ``zero`` or ``skip`` (None, as TRL).
    """

    answer_extraction: str = "boxed"
    multi_box: str = "set"
    strip_reasoning: bool = False
    float_rounding: int = 6
    unreadable_gold: str = "zero"

    def __post_init__(self) -> None:
        owner = "GraderOptions"
        for name, allowed in (("answer_extraction", ANSWER_EXTRACTIONS), ("multi_box", MULTI_BOX),
                              ("unreadable_gold", UNREADABLE_GOLD)):
            if getattr(self, name) not in allowed:
                raise param_error(name, owner, f"one of {', '.join(allowed)}", getattr(self, name))
        if not isinstance(self.strip_reasoning, bool):
            raise param_error("strip_reasoning", owner, "true or false", self.strip_reasoning)
        if isinstance(self.float_rounding, bool) or not isinstance(self.float_rounding, int) \
                or not 0 <= self.float_rounding <= 15:
            raise param_error("float_rounding", owner, "an int in [0, 15]", self.float_rounding)


_FIELD_NAMES = tuple(f.name for f in fields(GraderOptions))
_state = threading.local()
_process_default = GraderOptions()


def grader_options_from(source: Any, *, prefix: str = "") -> GraderOptions:
    """Options read from a mapping or an object with the same-named fields (``prefix`` + name);
    missing or None values keep the defaults. ``GRPOConfig`` uses the prefix ``grader_``."""
    values: dict[str, Any] = {}
    for name in _FIELD_NAMES:
        key = prefix + name
        value = source.get(key) if isinstance(source, Mapping) else getattr(source, key, None)
        if value is not None:
            values[name] = value
    return replace(GraderOptions(), **values)


def default_options() -> GraderOptions:
    """The options in force: the innermost :func:`using_options`, else the process default."""
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else _process_default


def set_default_options(options: GraderOptions) -> None:
    """Make ``options`` the process-wide default (every thread without a :func:`using_options`)."""
    global _process_default
    if not isinstance(options, GraderOptions):
        raise TypeError(f"expected GraderOptions, got {type(options).__name__}")
    _process_default = options


@contextlib.contextmanager
def using_options(options: GraderOptions) -> Iterator[GraderOptions]:
    """Within the block (this thread only), calls without explicit options use ``options``."""
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    stack.append(options)
    try:
        yield options
    finally:
        stack.pop()
