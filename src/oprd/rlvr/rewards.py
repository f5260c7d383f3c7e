"""Reward functions, TRL-style: ``f(prompts, completions, **columns) -> list[float]``.

``completions`` are strings (or chat messages, whose last content is read); dataset columns arrive as
keyword lists aligned with the completions (``answer=[...]`` and any other column), so a user function
can read whatever field it needs. :class:`RewardSet` sums several functions with weights and keeps
each one's column for logging; :func:`load_reward_function` resolves a user function by path.

Unlabeled prompts use a self-reward hook of the shape ``(group_completions) -> (rewards, label | None)``;
:func:`majority_vote_rewards` (TTRL) is the default one.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from oprd.errors import OprdInputError
from oprd.verify import extract_answer, majority_cluster, reward_against

RewardFunction = Callable[..., list[float]]
SelfReward = Callable[[Sequence[Any]], tuple[list[float], Optional[str]]]
"""The unlabeled-prompt hook: one group's completions in, ``(rewards, label or None)`` out."""

_BOXED = re.compile(r"\\boxed\s*\{\s*[^\s}].*?\}", re.DOTALL)


def completion_text(completion: Any) -> str:
    """The text of a completion: a string as is; for chat messages, the content of the last one."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return str(completion.get("content", ""))
    if isinstance(completion, Sequence):
        return completion_text(completion[-1]) if completion else ""
    return "" if completion is None else str(completion)


def accuracy_reward(prompts: Sequence[Any], completions: Sequence[Any], *, answer: Sequence[Any] | None = None,
                    **columns: Any) -> list[float | None]:
    """1.0 where the completion's final answer is equivalent to the row's ``answer``, else 0.0.

    Graded with the process's grader options (``oprd.verify``; ``oprd-train`` sets them from the
    ``grader_*`` config keys). A None answer (unlabeled row) gives 0.0; an unreadable answer gives 0.0,
    or None with ``grader_unreadable_gold: skip`` (see :class:`RewardSet`); any verifier failure on an
    odd string gives 0.0, so a training step never crashes on model output.
    """
    if answer is None:
        raise OprdInputError(
            "accuracy_reward needs the 'answer' column; pass --answer-key naming the final-answer column"
        )
    _check_aligned("answer", answer, completions)
    rewards: list[float | None] = []
    for completion, gold in zip(completions, answer):
        try:
            rewards.append(0.0 if gold is None else
                           reward_against([completion_text(completion)], str(gold), skipped=None)[0])
        except Exception:
            rewards.append(0.0)
    return rewards


def format_reward(prompts: Sequence[Any], completions: Sequence[Any], **columns: Any) -> list[float]:
    """1.0 where the completion holds a non-empty ``\\boxed{...}``, else 0.0 (rewards answer formatting)."""
    return [1.0 if _BOXED.search(completion_text(c)) else 0.0 for c in completions]


class RewardSet:
    """Several reward functions summed with weights.

    Calling it returns ``(total, columns)``: the weighted sum per completion and, for logging, each
    function's own (unweighted) rewards under its name (``__name__``, suffixed ``_2``, ``_3`` on repeats).
    A function may return None for "not applicable"; it counts as 0.0. A function that raises stops the
    run with one line naming it, ``step`` and the error (:func:`call_reward_function`).
    """

    def __init__(self, functions: Sequence[RewardFunction], weights: Sequence[float] | None = None) -> None:
        if not functions:
            raise OprdInputError("RewardSet needs at least one reward function")
        for function in functions:
            if not callable(function):
                raise OprdInputError(f"reward functions must be callables; got {type(function).__name__}")
        weights = [1.0] * len(functions) if weights is None else [float(w) for w in weights]
        if len(weights) != len(functions) or not all(math.isfinite(w) for w in weights):
            raise OprdInputError(
                f"RewardSet got {len(weights)} weights for {len(functions)} functions; "
                "give one finite weight per function"
            )
        self.functions = list(functions)
        self.weights = weights
        self.names = _unique_names(functions)
        self.step: int | None = None
        """The training step being scored (the trainer sets it); named in errors from reward functions."""

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any],
                 **columns: Any) -> tuple[list[float], dict[str, list[float]]]:
        total = [0.0] * len(completions)
        per_function: dict[str, list[float]] = {}
        for name, function, weight in zip(self.names, self.functions, self.weights):
            values = _as_rewards(name, call_reward_function(name, function, self.step, prompts, completions, columns),
                                 len(completions))
            per_function[name] = values
            total = [t + weight * v for t, v in zip(total, values)]
        return total, per_function


def load_reward_function(path: str) -> RewardFunction:
    """The callable at ``path``: ``pkg.module:func``, ``pkg.module.func`` or ``path/to/file.py:func``.

    Raises :class:`OprdInputError` with one line saying what failed when the path is malformed, the
    module does not import, the name is missing or the object is not callable.
    """
    module_name, attribute = _split_path(path)
    module = _import(module_name, path)
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise OprdInputError(
                f"reward function {path!r}: {module_name!r} has no attribute {attribute!r}; "
                "check the function name after the module"
            )
        target = getattr(target, part)
    if not callable(target):
        raise OprdInputError(
            f"reward function {path!r} is a {type(target).__name__}, not a callable; point to a function "
            "f(prompts, completions, **columns) -> list[float]"
        )
    return target


def majority_vote_rewards(completions: Sequence[Any]) -> tuple[list[float], str | None]:
    """TTRL self-reward for one group: 1.0 for completions whose answer is in the majority cluster.

    Returns ``(rewards, label)``; with no majority (no answers, or a tie) every reward is 0.0 and the
    label is None, so the group carries no signal rather than a coin-flip label.
    """
    answers = [extract_answer(completion_text(c)) for c in completions]
    majority = majority_cluster(answers)
    rewards = [0.0] * len(answers)
    if majority is None:
        return rewards, None
    for index in majority.indices:
        rewards[index] = 1.0
    return rewards, majority.answer


@dataclass(frozen=True)
class TrainerState:
    """What reward functions receive as ``trainer_state`` (the fields of TRL's state they read)."""

    global_step: int
    epoch: float
    max_steps: int


def trl_completions(prompts: Sequence[Any], texts: Sequence[str]) -> list[Any]:
    """Completions in the form TRL passes them: ``[{"role": "assistant", "content": text}]`` where the
    prompt is chat messages, the plain text where it is a string."""
    return [[{"role": "assistant", "content": text}] if isinstance(prompt, list) else text
            for prompt, text in zip(prompts, texts)]


def call_reward_function(name: str, function: RewardFunction, step: int | None, prompts: Sequence[Any],
                         completions: Sequence[Any], columns: Mapping[str, Any]) -> Any:
    """Call user reward code; an exception becomes one line naming the function, the step and the error.

    With ``OPRD_DEBUG=1`` the exception propagates unchanged, traceback included.
    """
    import os

    try:
        return function(prompts, completions, **columns)
    except OprdInputError:
        raise
    except Exception as exc:
        if os.environ.get("OPRD_DEBUG") == "1":
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        at_step = f" at step {step}" if step is not None else ""
        form = "chat messages [{'role': 'assistant', 'content': ...}]" if completions and isinstance(
            completions[0], list) else "plain strings"
        raise OprdInputError(
            f"reward function {name!r} raised {type(exc).__name__}{at_step}: {first[:200]} (its completions were "
            f"{form}); fix the function (set OPRD_DEBUG=1 for the traceback)"
        ) from exc


def _check_aligned(name: str, column: Sequence[Any], completions: Sequence[Any]) -> None:
    if len(column) != len(completions):
        raise ValueError(f"column {name!r} has {len(column)} values for {len(completions)} completions")


def _unique_names(functions: Sequence[RewardFunction]) -> list[str]:
    names: list[str] = []
    for function in functions:
        base = getattr(function, "__name__", type(function).__name__)
        name, count = base, 1
        while name in names:
            count += 1
            name = f"{base}_{count}"
        names.append(name)
    return names


def _as_rewards(name: str, values: Any, n: int) -> list[float]:
    """A reward function's output as ``n`` floats, or an error naming the function. None means "not
    applicable" (TRL's convention: the completion gets nothing from this function): 0.0, added to the
    total and logged as such. Completions of one prompt share its gold, so a prompt whose gold is
    skipped scores alike across its group and gets no advantage from it. NaN and inf are kept: the
    trainer refuses them with the step and the row (a broken reward must not train silently)."""
    try:
        rewards = [0.0 if v is None else float(v) for v in values]
    except (TypeError, ValueError):
        raise OprdInputError(f"reward function {name!r} must return a list of numbers; got {values!r:.80}") from None
    if len(rewards) != n:
        raise OprdInputError(f"reward function {name!r} returned {len(rewards)} rewards for {n} completions")
    return rewards


def _split_path(path: str) -> tuple[str, str]:
    """``(module or file, attribute)`` from the three accepted spellings."""
    text = path.strip() if isinstance(path, str) else ""
    if ":" in text:
        module_name, _, attribute = text.rpartition(":")
    else:
        module_name, _, attribute = text.rpartition(".")
    if not module_name or not attribute:
        raise OprdInputError(
            f"reward function path {path!r} is not of the form pkg.module:func, pkg.module.func or ./file.py:func"
        )
    return module_name, attribute


def _import(module_name: str, path: str) -> Any:
    """Import a module by name, or load a ``.py`` file; one-line errors either way."""
    try:
        if module_name.endswith(".py"):
            return _load_file(Path(module_name).expanduser())
        return importlib.import_module(module_name)
    except OprdInputError:
        raise
    except Exception as exc:  # any import-time failure: missing module, syntax error, error in module code
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise OprdInputError(
            f"reward function {path!r}: cannot import {module_name!r} ({type(exc).__name__}: {reason}); "
            "install the module, put its folder on PYTHONPATH, or give a file path like ./my_rewards.py:func"
        ) from None


def _load_file(file: Path) -> Any:
    if not file.is_file():
        raise OprdInputError(f"reward function file {file} does not exist; check the path")
    name = f"oprd_user_rewards_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
