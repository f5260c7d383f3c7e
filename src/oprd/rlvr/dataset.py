"""Training rows from an ``oprd-select`` output dir or a plain file, labeled and unlabeled together."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oprd.errors import OprdInputError


@dataclass
class TrainData:
    """Rows to train on. ``answers[i] is None`` marks an unlabeled row (self-rewarded)."""

    ids: list[str]
    prompts: list[Any]
    answers: list[str | None]
    rows: list[dict[str, Any]]
    source: str
    sha256: str

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def n_labeled(self) -> int:
        return sum(a is not None for a in self.answers)

    def columns(self, indices: list[int]) -> dict[str, list[Any]]:
        """Dataset columns of the given rows as lists (what reward functions receive as keywords)."""
        keys = sorted({key for i in indices for key in self.rows[i]})
        columns = {key: [self.rows[i].get(key) for i in indices] for key in keys}
        columns["answer"] = [self.answers[i] for i in indices]
        columns["id"] = [self.ids[i] for i in indices]
        return columns


def load_train_data(*, selected: str | None = None, data: str | None = None, prompt_key: str = "prompt",
                    answer_key: str = "answer", id_key: str = "id", label_fraction: float | None = None,
                    label_seed: int = 0, rows: Any = None) -> TrainData:
    """Read ``--selected DIR`` (checking its manifest and pool hash), ``--data FILE``, or in-memory
    ``rows`` (a ``datasets.Dataset`` or a list of dicts, checked by the same rules as a file).

    With ``label_fraction``, only that share of the labeled rows keeps its label (:func:`hide_labels`).
    """
    from oprd.data import load_pool

    if rows is not None:
        from oprd.data.pool import Pool

        make = Pool.from_rows if isinstance(rows, (list, tuple)) else Pool.from_dataset
        pool = make(rows, prompt_key=prompt_key, answer_key=answer_key, id_key=id_key)
        result = TrainData(pool.ids, pool.prompts, pool.answers, pool.rows, "train_dataset", pool.sha256)
    elif data is not None:
        pool = load_pool(data, prompt_key=prompt_key, answer_key=answer_key, id_key=id_key)
        result = TrainData(pool.ids, pool.prompts, pool.answers, pool.rows, str(data), pool.sha256)
    else:
        result = _from_selected(Path(selected))
    if result.n == 0:
        raise OprdInputError(f"{result.source} has no usable rows to train on")
    if label_fraction is not None:
        result = hide_labels(result, label_fraction, seed=label_seed, answer_key=answer_key)
    return result


def hide_labels(data: TrainData, fraction: float, *, seed: int = 0, answer_key: str = "answer") -> TrainData:
    """Semi-supervised simulation: a seeded ``fraction`` of the labeled rows keeps its label.

    The other labeled rows train as unlabeled: their answer is removed from the row (so reward
    functions cannot read it through ``answer_key``) and kept as ``hidden_answer`` for diagnostics.
    At least one row stays labeled; the input is not modified.
    """
    import numpy as np

    if not 0.0 < fraction <= 1.0:
        raise OprdInputError(f"--label-fraction must be in (0, 1]; got {fraction}")
    labeled = [i for i, answer in enumerate(data.answers) if answer is not None]
    if not labeled:
        raise OprdInputError(f"--label-fraction hides some labels, but {data.source} has no labeled rows; "
                             "pass a file with answers (--answer-key names the column)")
    keep = max(1, round(fraction * len(labeled)))
    kept = set(np.random.default_rng(seed).permutation(labeled)[:keep].tolist())
    answers, rows = list(data.answers), list(data.rows)
    for i in labeled:
        if i not in kept:
            rows[i] = {**_without_key(rows[i], answer_key), "hidden_answer": answers[i]}
            answers[i] = None
    return TrainData(data.ids, data.prompts, answers, rows, data.source, data.sha256)


def _without_key(row: dict[str, Any], key: str) -> dict[str, Any]:
    """A copy of ``row`` without the (possibly dotted) ``key``; nested dicts on the path are copied."""
    if key in row or "." not in key:
        return {k: v for k, v in row.items() if k != key}
    head, rest = key.split(".", 1)
    inner = row.get(head)
    if not isinstance(inner, dict):
        return dict(row)
    return {**row, head: _without_key(inner, rest)}


def _from_selected(directory: Path) -> TrainData:
    """A SHIFT/baseline dir trains on ``subset.jsonl``; a PivotTrace dir on annotate (labeled) + weak (unlabeled)."""
    from oprd.data import load_pool, pool_from_source, read_manifest, read_source, source_sha256

    manifest = read_manifest(directory)
    keys = {k: manifest.get(k) or d for k, d in (("prompt_key", "prompt"), ("answer_key", "answer"), ("id_key", "id"))}
    _check_pool_unchanged(directory, manifest, source_sha256)
    if manifest.get("method") == "pivottrace":
        files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
        labeled = load_pool(_subset_path(directory, files.get("annotate", "annotate.jsonl")), **keys)
        weak_name = files.get("weak", "weak.jsonl")
        weak_file = _subset_path(directory, weak_name) if weak_name is not None else None
        empty = weak_file is None or not weak_file.exists() or (weak_file.is_file() and not weak_file.stat().st_size)
        weak_rows = None if empty else read_source(weak_file)
        weak = pool_from_source(weak_rows, **keys) if weak_rows is not None and weak_rows.rows else None
        ids, prompts, answers, rows = list(labeled.ids), list(labeled.prompts), list(labeled.answers), list(labeled.rows)
        missing = [i for i, a in zip(ids, answers) if a is None]
        if missing:
            raise OprdInputError(
                f"{labeled.path} has rows without answers (first: {missing[0]}); "
                "label them (the answer column) before training"
            )
        if weak is not None:
            ids += weak.ids
            prompts += weak.prompts
            answers += [None] * weak.n
            rows += weak.rows
        return TrainData(ids, prompts, answers, rows, str(directory), manifest.get("pool_sha256", ""))
    subset = _subset_path(directory, manifest.get("subset_file", "subset.jsonl"))
    pool = load_pool(subset, **keys)
    expected = manifest.get("subset_sha256")
    if expected and pool.sha256 != expected:
        raise OprdInputError(
            f"{subset} was modified after selection (sha256 differs from the manifest); re-run the selection"
        )
    return TrainData(pool.ids, pool.prompts, pool.answers, pool.rows, str(directory), pool.sha256)


def _subset_path(directory: Path, name: Any) -> Path:
    """The manifest's ``subset_file``: a plain file name inside ``directory``, never a path leading out of it."""
    plain = isinstance(name, str) and name not in ("", ".", "..") and Path(name).name == name and "\\" not in name
    path = directory / name if plain else None
    if path is None or (path.exists() and path.resolve().parent != directory.resolve()):
        raise OprdInputError(
            f"{directory}/manifest.json names subset_file {name!r}, which is not a file name inside {directory}; "
            "a selection's subset must sit beside its manifest: re-run the selection"
        )
    return path


def _check_pool_unchanged(directory: Path, manifest: dict, source_sha256) -> None:
    pool_path = manifest.get("pool_path")
    if not pool_path:
        return
    path = Path(pool_path)
    if not path.is_absolute() and not path.exists():
        path = directory / pool_path
    if not path.exists():
        print(f"warning: the pool {pool_path} named in {directory}/manifest.json is not here; "
              "training on the saved subset", file=sys.stderr)
        return
    found = source_sha256(path, (manifest.get("pool_source") or {}).get("split"))
    if found != manifest.get("pool_sha256"):
        raise OprdInputError(
            f"the pool {pool_path} changed since {directory} was selected (sha256 {found[:12]}... vs "
            f"{str(manifest.get('pool_sha256'))[:12]}... in the manifest); re-run the selection on the current pool"
        )


def describe(data: TrainData) -> str:
    """One line for logs."""
    return json.dumps({"source": data.source, "rows": data.n, "labeled": data.n_labeled})
