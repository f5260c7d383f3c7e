"""Probes: their gold answers (pool column or a labels file), the request for missing labels, and
their pass rates over G sampled rollouts each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from oprd.errors import OprdInputError
from oprd.features.model_side import ModelSide
from oprd.selectors.pivottrace.config import PivotTraceConfig
from oprd.selectors.pivottrace.outputs import json_line

PROBES_TO_LABEL = "probes_to_label.jsonl"
_PROBE_SEED_OFFSET = 7_777


@dataclass
class ProbeRequest:
    """The run stopped: these probes need gold answers, written to ``path`` for annotators."""

    path: Path
    ids: list[str]


def probe_gold(pool, probes: Sequence[int], labels_path: Path | None) -> tuple[dict[int, str], set[int], list[int]]:
    """Gold answers of the probes (labels file first, then the pool's answer column), the probes whose
    gold came from the labels file, and the probes still lacking one. Bad labels files raise naming
    the offending ids."""
    labels = _read_labels(labels_path, [pool.ids[i] for i in probes]) if labels_path is not None else {}
    gold: dict[int, str] = {}
    from_labels: set[int] = set()
    for i in probes:
        if pool.ids[i] in labels:
            gold[int(i)] = labels[pool.ids[i]]
            from_labels.add(int(i))
        elif pool.answers[i] is not None and pool.answers[i].strip():
            gold[int(i)] = pool.answers[i]
    missing = [int(i) for i in probes if int(i) not in gold]
    if labels_path is not None and missing:
        raise OprdInputError(
            f"probe labels file {labels_path} has no answer for {len(missing)} probe(s): "
            f"{_name_ids(pool.ids[i] for i in missing)}; add a row {{\"id\", \"answer\"}} for each"
        )
    return gold, from_labels, missing


def request_labels(out: Path, pool, missing: list[int], uncertainty: np.ndarray) -> ProbeRequest:
    """Write the probes lacking gold for annotators; never overwrite a file that already holds labels
    for a different probe set."""
    from oprd.data import atomic_write_text
    from oprd.data.readers import read_rows

    path = out / PROBES_TO_LABEL
    ids = [pool.ids[i] for i in missing]
    if path.is_file():
        existing = [r for r in read_rows(path).rows if isinstance(r, dict)]
        if sorted(str(r.get("id")) for r in existing) == sorted(ids):
            return ProbeRequest(path, ids)
        if any(r.get("answer") not in (None, "") for r in existing):
            raise OprdInputError(
                f"{path} holds labels for a different probe set; move it away (or pass it with --probe-labels) "
                "before writing the new probes"
            )
    rows = [{"id": pool.ids[i], "prompt": pool.prompts[i], "answer": None, "uncertainty": float(uncertainty[i])}
            for i in missing]
    atomic_write_text(path, "".join(json_line(row) for row in rows))
    return ProbeRequest(path, ids)


def probe_answers(side: ModelSide, config: PivotTraceConfig, indices: Sequence[int]) -> list[list[str | None]]:
    """Final answers of G rollouts per probe at the probe temperature."""
    from oprd.verify import extract_answer

    rollouts = side.rollouts(indices, config.probe_samples, config.probe_temperature,
                             config.seed + _PROBE_SEED_OFFSET, "probe rollouts")
    answers = [extract_answer(r.text) for r in rollouts]
    return [answers[i : i + config.probe_samples] for i in range(0, len(answers), config.probe_samples)]


def verify_probes(answers: list[list[str | None]], golds: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Pass rate of each probe's samples and whether their majority vote is correct."""
    from oprd.verify import is_equivalent, majority_vote

    rates = np.array([np.mean([is_equivalent(a, g) for a in group]) for group, g in zip(answers, golds)])
    correct = np.array([float(is_equivalent(majority_vote(group), g)) for group, g in zip(answers, golds)])
    return rates, correct


def _read_labels(path: Path, probe_ids: list[str]) -> dict[str, str]:
    """``{id: answer}`` from a labels file; unknown ids, repeats and empty answers are errors."""
    from oprd.data.readers import read_rows

    if not path.is_file():
        raise OprdInputError(f"probe labels file {path} does not exist; pass the labeled {PROBES_TO_LABEL}")
    labels: dict[str, str] = {}
    empty, repeated = [], []
    for number, row in enumerate(read_rows(path).rows, start=1):
        if not isinstance(row, dict) or "id" not in row:
            raise OprdInputError(
                f"probe labels file {path}, row {number}: expected an object with \"id\" and \"answer\"; fix that row"
            )
        row_id, answer = str(row["id"]), row.get("answer")
        if row_id in labels:
            repeated.append(row_id)
        if answer is None or not str(answer).strip():
            empty.append(row_id)
        else:
            labels[row_id] = str(answer)
    unknown = sorted(set(labels) - set(probe_ids))
    checks = (
        ("ids that are not probes of this run", unknown,
         "remove them (the same pool, model and settings give the same probes)"),
        ("empty answers for", empty, "fill in each \"answer\""),
        ("repeated ids", repeated, "keep one row per id"),
    )
    for problem, ids, fix in checks:
        if ids:
            raise OprdInputError(f"probe labels file {path} has {problem}: {_name_ids(ids)}; {fix}")
    return labels


def _name_ids(ids, limit: int = 8) -> str:
    ids = list(ids)
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
