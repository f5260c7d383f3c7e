"""Generate labeled problem pools offline: reasoning-gym tasks (seeded) and the CHAMP competition set.

Both sources ship as PyPI packages, so pools can be made with no network and no hub download.
"""

from __future__ import annotations

import functools
import random
import re
from typing import Any

from oprd.errors import OprdInputError, param_error

CHAMP = "champ"
_SHORT_ANSWER_CHARS = 12
_HAS_SPACE_OR_COMMA = re.compile(r"[\s,]")


def make_problems(task: str, n: int, seed: int, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """``n`` rows ``{"id", "prompt", "answer", "source"}`` from one task or a comma list of tasks.

    ``options`` are passed to every reasoning-gym generator's config (e.g. ``max_terms=3``).

    ``n`` is split evenly over the tasks (the first tasks get one more when it does not divide).
    reasoning-gym rows get ids ``<task>-<seed>-<i>``; ``champ`` rows are a seeded sample of the CHAMP
    problems whose final answer is short (at most 12 characters, no spaces or commas), with ids
    ``champ-<problem id>``. The same arguments always give the same rows.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise param_error("n", "make_problems", "an int >= 1", n)
    tasks = [name.strip() for name in task.split(",") if name.strip()]
    if not tasks:
        raise OprdInputError(f"no task given in {task!r}; pass one or more task names separated by commas")
    repeated = sorted({name for name in tasks if tasks.count(name) > 1})
    if repeated:
        raise OprdInputError(f"task {repeated[0]!r} is listed twice; list each task once")
    known = known_tasks()
    unknown = [name for name in tasks if name not in known]
    if unknown:
        raise OprdInputError(f"unknown task {unknown[0]!r}; known tasks: {', '.join(known)}")
    share, extra = divmod(n, len(tasks))
    rows: list[dict[str, Any]] = []
    for position, name in enumerate(tasks):
        count = share + (position < extra)
        if count:
            rows.extend(_champ(count, seed) if name == CHAMP else _reasoning_gym(name, count, seed, options or {}))
    return rows


def known_tasks() -> list[str]:
    """``champ`` followed by every registered reasoning-gym dataset name, sorted."""
    from reasoning_gym.factory import DATASETS

    return [CHAMP, *sorted(DATASETS)]


def _reasoning_gym(name: str, count: int, seed: int, options: dict[str, Any]) -> list[dict[str, Any]]:
    import reasoning_gym

    try:
        dataset = reasoning_gym.create_dataset(name, size=count, seed=seed, **options)
    except (TypeError, AssertionError, ValueError) as error:
        raise OprdInputError(f"task {name!r} rejected options {options} ({error}); check the generator's config fields") from None
    return [
        {
            "id": f"{name}-{seed}-{i}",
            "prompt": item["question"],
            "answer": None if item["answer"] is None else str(item["answer"]),
            "source": name,
        }
        for i, item in enumerate(dataset)
    ]


@functools.lru_cache(maxsize=1)
def _champ_short_answer_problems() -> tuple[Any, ...]:
    """CHAMP problems whose final answer is short, in file order (loaded once: it takes ~2 s)."""
    import champ_dataset

    return tuple(
        problem
        for problem in champ_dataset.load("v0").problems.values()
        if len(problem.answer) <= _SHORT_ANSWER_CHARS and not _HAS_SPACE_OR_COMMA.search(problem.answer)
    )


def _champ(count: int, seed: int) -> list[dict[str, Any]]:
    problems = _champ_short_answer_problems()
    if count > len(problems):
        raise OprdInputError(
            f"champ has {len(problems)} problems with a short final answer, {count} were asked for; "
            f"ask for at most {len(problems)} from champ"
        )
    chosen = random.Random(seed).sample(problems, count)
    return [
        {"id": f"champ-{problem.identifier}", "prompt": problem.text, "answer": problem.answer, "source": CHAMP}
        for problem in chosen
    ]
