"""A pool of problems: the rows of a file, a folder, a Hub dataset, a ``datasets.Dataset`` or a list of dicts,
with ids, prompts and answers resolved.

Rows are kept exactly as read, so a selection can write them back untouched; ``ids``, ``prompts`` and
``answers`` are the resolved views every other module works from.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Union

from oprd.data.keys import MISSING, lookup
from oprd.data.sources import SourceRows, read_source, rows_sha256
from oprd.errors import OprdInputError

Prompt = Union[str, list[dict[str, Any]]]
#: Chat roles a prompt message may have (what chat templates render; anything else is a typo).
CHAT_ROLES = ("system", "user", "assistant")


@dataclass
class Pool:
    """Rows plus their resolved ``ids`` (strings, unique), ``prompts`` and ``answers`` (None = unlabeled).

    ``sha256`` identifies the source: the file's bytes, the files read from a folder, or a canonical JSON
    dump for in-memory rows and Hub datasets. ``source_format`` (``jsonl``, ``json``, ``parquet``, ``hf``)
    is the format a selection is written in by default, ``schema`` the source's Arrow schema where it has
    one, ``origin`` the split or Hub id read (``{"hub": id, "split": ..., "config": ...}``).
    """

    path: Path | None
    rows: list[dict[str, Any]] = field(repr=False)
    ids: list[str] = field(repr=False)
    prompts: list[Prompt] = field(repr=False)
    answers: list[str | None] = field(repr=False)
    sha256: str
    prompt_key: str = "prompt"
    answer_key: str = "answer"
    id_key: str = "id"
    source_format: str = "jsonl"
    schema: Any = field(default=None, repr=False)
    origin: dict[str, Any] | None = None

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.rows)

    @property
    def n_labeled(self) -> int:
        """Rows with an answer."""
        return sum(answer is not None for answer in self.answers)

    def __len__(self) -> int:
        return len(self.rows)

    def head(self, n: int) -> Pool:
        """The first ``n`` rows as a pool (``path`` and ``sha256`` still name the source)."""
        return replace(self, rows=self.rows[:n], ids=self.ids[:n], prompts=self.prompts[:n], answers=self.answers[:n])

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[Mapping[str, Any]],
        prompt_key: str = "prompt",
        answer_key: str = "answer",
        id_key: str = "id",
    ) -> Pool:
        """A pool from in-memory dicts (for notebooks and tests); same rules and errors as :func:`load_pool`."""
        rows = list(rows)
        if not rows:
            raise OprdInputError("no rows given; a pool needs at least one row")
        return _resolve(rows, None, None, rows_sha256(rows), prompt_key, answer_key, id_key)

    @classmethod
    def from_dataset(
        cls,
        dataset: Any,
        prompt_key: str = "prompt",
        answer_key: str = "answer",
        id_key: str = "id",
    ) -> Pool:
        """A pool from a ``datasets.Dataset``; its selection is written as a ``datasets`` folder by default."""
        import datasets

        if isinstance(dataset, (datasets.DatasetDict, datasets.IterableDatasetDict)):
            raise OprdInputError(
                f"got a DatasetDict with the splits {', '.join(dataset)}; pass one split, e.g. dataset[{next(iter(dataset))!r}]"
            )
        if isinstance(dataset, datasets.IterableDataset):
            raise OprdInputError("got an IterableDataset (streamed); a pool is read whole: pass "
                                 "Dataset.from_list(list(dataset.take(N))) or a non-streaming dataset")
        rows = dataset.to_list()
        if not rows:
            raise OprdInputError("the dataset has no rows; a pool needs at least one row")
        pool = _resolve(rows, None, None, rows_sha256(rows), prompt_key, answer_key, id_key)
        return replace(pool, source_format="hf", schema=dataset.features.arrow_schema)


def load_pool(
    path: str | os.PathLike[str],
    prompt_key: str = "prompt",
    answer_key: str = "answer",
    id_key: str = "id",
    *,
    split: str | None = None,
    config_name: str | None = None,
) -> Pool:
    """Load a pool: a .jsonl/.json/.parquet file, a ``datasets`` folder, a folder of shards, or a Hub id.

    A folder is either a ``save_to_disk`` folder (``split`` picks one split of a saved ``DatasetDict``) or
    a folder of parquet / JSON shards read in name order (``split`` keeps the files named ``<split>*``).
    A path that does not exist and looks like ``owner/name`` is a Hub dataset id, read with
    ``datasets.load_dataset(path, config_name, split=split)``; without a network it fails at once.
    Keys may be dotted to read nested fields (``reward_model.ground_truth``). A missing or null answer
    means unlabeled; numeric answers and ids become strings; a missing id is the row's 0-based index.
    Files with a UTF-8 BOM, CRLF line ends or blank lines load as they are; a ``.json`` file may hold
    one array of rows or JSON Lines. Any problem raises :class:`OprdInputError` with a one-line fix.
    """
    raw = read_source(path, split=split, config_name=config_name)
    return pool_from_source(raw, prompt_key, answer_key, id_key)


def pool_from_source(raw: SourceRows, prompt_key: str = "prompt", answer_key: str = "answer",
                     id_key: str = "id") -> Pool:
    """The pool of rows already read by :func:`~oprd.data.sources.read_source` (checked as by :func:`load_pool`)."""
    if not raw.rows:
        raise OprdInputError(f"pool {raw.label} holds no rows; a pool needs at least one row")
    pool = _resolve(raw.rows, raw.path, raw.lines, raw.sha256, prompt_key, answer_key, id_key, label=raw.label)
    return replace(pool, source_format=raw.format, schema=raw.schema, origin=raw.origin)


def _resolve(
    rows: list[Any],
    path: Path | None,
    lines: list[int] | None,
    sha256: str,
    prompt_key: str,
    answer_key: str,
    id_key: str,
    *,
    label: str | None = None,
) -> Pool:
    """Check every row and build the pool; errors name the row index (and file line where known)."""
    source = label or (str(path) if path is not None else "rows")
    ids: list[str] = []
    prompts: list[Prompt] = []
    answers: list[str | None] = []
    first_row_of: dict[str, int] = {}
    implied: set[int] = set()  # rows without an id, whose id is their row number
    for index, row in enumerate(rows):
        where = f"{source}, row index {index}" + (f" (line {lines[index]})" if lines else "")
        if not isinstance(row, Mapping):
            raise OprdInputError(
                f"{where}: found {_describe(row)} where a row object was expected; write one JSON object per row"
            )
        prompts.append(_prompt(row, index, where, source, prompt_key))
        answers.append(_answer(lookup(row, answer_key), where, answer_key))
        row_id = _row_id(lookup(row, id_key), index, where, id_key)
        if lookup(row, id_key) in (MISSING, None):
            implied.add(index)
        if row_id in first_row_of:
            raise OprdInputError(_duplicate_id(source, row_id, first_row_of[row_id], index, lines, implied, id_key))
        first_row_of[row_id] = index
        ids.append(row_id)
    return Pool(path, rows, ids, prompts, answers, sha256, prompt_key, answer_key, id_key)


def _duplicate_id(source: str, row_id: str, first: int, index: int, lines: list[int] | None, implied: set[int],
                  key: str) -> str:
    """The duplicate-id message; says so when one of the two ids is a row number given to a row without one."""
    on_lines = f" (lines {lines[first]} and {lines[index]})" if lines else ""
    message = f"{source}: duplicate id {row_id!r} at row indices {first} and {index}{on_lines}; "
    numbered = [i for i in (first, index) if i in implied]
    if len(numbered) == 1:
        other = index if numbered[0] == first else first
        return message + (
            f"row {numbered[0]} has no {key!r}, so its id is its row number {row_id}, which row {other}'s own id "
            f"repeats: give every row an id (or none), or pass --id-key naming a unique column"
        )
    return message + "ids must be unique: fix the data or pass --id-key naming a unique column"


def _prompt(row: Mapping[str, Any], index: int, where: str, source: str, key: str) -> Prompt:
    """The row's prompt: a string or a non-empty list of {role, content} messages."""
    value = lookup(row, key)
    if value is MISSING:
        found = ", ".join(map(str, row)) or "none"
        if index == 0:
            raise OprdInputError(
                f"{source}: the first row has no prompt key {key!r} (keys found: {found}); pass --prompt-key "
                "naming the prompt column, dotted for nested fields (e.g. --prompt-key extra.question)"
            )
        raise OprdInputError(f"{where}: no prompt key {key!r} (keys found: {found}); every row needs a prompt")
    if isinstance(value, str) or _is_messages(value):
        _check_prompt_text(value, where, key)
        return value
    found = "a list that is not {role, content} messages" if isinstance(value, list) and value else _describe(value)
    raise OprdInputError(
        f"{where}: prompt {key!r} must be a string or a list of {{role, content}} messages, "
        f"found {found}; fix the row or pass --prompt-key"
    )


def _is_messages(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(
            isinstance(m, Mapping) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in value
        )
    )


def _check_prompt_text(value: Prompt, where: str, key: str) -> None:
    """Refuse degenerate prompts: empty or whitespace-only, over the size cap, or an unknown chat role."""
    from oprd.limits import MAX_PROMPT_CHARS

    messages = [{"role": "user", "content": value}] if isinstance(value, str) else value
    unknown = sorted({m["role"] for m in messages} - set(CHAT_ROLES))
    if unknown:
        raise OprdInputError(
            f"{where}: prompt {key!r} has a message with role {unknown[0]!r}; roles must be one of "
            f"{', '.join(CHAT_ROLES)}; fix the row"
        )
    if not any(m["content"].strip() for m in messages if m["role"] == "user"):
        raise OprdInputError(
            f"{where}: prompt {key!r} is empty or only whitespace (no user message with text); remove the row or "
            "write the prompt (an empty prompt would be ranked and trained on like a real one)"
        )
    size = sum(len(m["content"]) for m in messages)
    if size > MAX_PROMPT_CHARS:
        raise OprdInputError(
            f"{where}: prompt {key!r} has {size} characters, more than the limit of {MAX_PROMPT_CHARS}; "
            "shorten or remove the row"
        )


def _answer(value: Any, where: str, key: str) -> str | None:
    """A string answer, or None (unlabeled) for a missing, null or NaN value."""
    if value is MISSING or value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    hint = ' (write "true"/"false" as a string if that is the answer)' if isinstance(value, bool) else ""
    raise OprdInputError(
        f"{where}: answer {key!r} must be a string or a number, found {_describe(value)}{hint}; "
        "fix the row or pass --answer-key naming the final-answer column"
    )


def _row_id(value: Any, index: int, where: str, key: str) -> str:
    """The row's id as a string; the 0-based row index when the row has none."""
    if value is MISSING or value is None:
        return str(index)
    if isinstance(value, (str, int, float)):
        return str(value)
    raise OprdInputError(
        f"{where}: id {key!r} must be a string or a number, found {_describe(value)}; "
        "fix the row or pass --id-key naming an id column"
    )


def _describe(value: Any) -> str:
    """A JSON-flavoured name for what was found: "a number", "null", "an object", "an empty list", ..."""
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"
