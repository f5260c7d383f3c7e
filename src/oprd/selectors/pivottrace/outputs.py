"""A finished triage on disk: triage, annotate and weak rows (in the pool's format, or ``--format``),
calibration.png, then the subset and the manifest (last, so a directory without it is not a
finished triage; it names every file)."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from oprd.data.keys import assign
from oprd.selectors.pivottrace.config import PivotTraceConfig
from oprd.selectors.pivottrace.plot import plot_calibration
from oprd.selectors.pivottrace.triage import BUCKETS

if TYPE_CHECKING:
    from oprd.selectors.pivottrace.run import Triage


def write_outputs(out: Path, pool, config: PivotTraceConfig, triage: Triage, labeled: dict[int, str]) -> None:
    """Every output file of ``triage``; ``labeled`` gives the gold a labels file supplied, written into
    the annotated rows at the pool's answer key."""
    from oprd.data import schema_without, write_rows, write_selection
    from oprd.data.jsonsafe import to_jsonable

    selector = triage.selector
    rank = np.empty(pool.n, dtype=np.int64)
    rank[selector.order_] = np.arange(pool.n)
    probe_rate = {int(i): float(r) for i, r in zip(selector.probes_, selector.probe_pass_rates_)}

    def info(i: int) -> dict[str, Any]:
        return {"rank": int(rank[i]), "index": int(i), "score": float(triage.uncertainty[i]),
                "bucket": str(selector.buckets_[i]), "probe": i in probe_rate, "pass_rate": probe_rate.get(i)}

    fmt = config.output_format or pool.source_format
    triage_rows = [{"id": pool.ids[i], "uncertainty": float(triage.uncertainty[i]),
                    **{k: v for k, v in info(int(i)).items() if k != "score"}} for i in selector.order_]
    files = {"triage": write_rows(out, "triage", to_jsonable(triage_rows), fmt).name}
    for bucket in ("annotate", "weak"):
        members = [int(i) for i in selector.order_ if selector.buckets_[i] == bucket]
        rows = [{**_labeled_row(pool.rows[i], pool.answer_key, labeled.get(i)), "selection": info(i)} for i in members]
        written = write_rows(out, bucket, to_jsonable(rows), fmt, schema=schema_without(pool.schema, "selection"),
                             row_labels=[f"pool row {i} (id {pool.ids[i]})" for i in members])
        files[bucket] = written.name
    plot_calibration(out / "calibration.png", selector,
                     title=f"PivotTrace ({config.score}, {config.calib}): {pool.n} items")
    kept = [int(i) for i in selector.order_ if selector.buckets_[i] != "discard"]
    evidence = zip(selector.probes_, selector.probe_pass_rates_, triage.majority_correct, triage.probe_gold)
    probes = [{"id": pool.ids[i], "index": int(i), "rank": int(rank[i]), "pass_rate": float(p),
               "majority_correct": bool(c), "gold": g, "gold_from": "labels" if int(i) in labeled else "pool"}
              for i, p, c, g in evidence]
    write_selection(
        out, pool, kept, triage.uncertainty[kept], method="pivottrace", budget=selector.cuts_["n_annotate"],
        seed=config.seed, config=asdict(config), model=config.model,
        row_extras=[{"bucket": str(selector.buckets_[i])} for i in kept],
        buckets={name: selector.cuts_[f"n_{name}"] for name in BUCKETS}, score=config.score, calib=config.calib,
        tau_lo=config.tau_lo, tau_hi=config.tau_hi, fractions=list(config.fractions), cuts=selector.cuts_,
        probes=probes, files={**files, "plot": "calibration.png"}, fmt=fmt,
    )


def json_line(obj: Any) -> str:
    """One strict JSON line (numpy values become numbers, NaN becomes null)."""
    from oprd.data.jsonsafe import to_jsonable

    return json.dumps(to_jsonable(obj), ensure_ascii=False, allow_nan=False) + "\n"


def _labeled_row(row: dict, answer_key: str, answer: str | None) -> dict:
    """The pool row, with ``answer`` written at the (possibly dotted) answer key when a label file gave it."""
    if answer is None:
        return dict(row)
    row = copy.deepcopy(row)
    assign(row, answer_key, answer)
    return row
