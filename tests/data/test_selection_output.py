"""write_selection / read_manifest: untouched rows in order, the nested column, and the manifest as
the last, atomic completion marker (also when writing fails midway)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math

import numpy as np
import pytest

import oprd
from oprd.data import Pool, read_manifest, selection_output, write_selection
from oprd.errors import OprdInputError

ROWS = [
    {"id": "a", "prompt": "p0", "answer": "0", "meta": {"x": 1}},
    {"id": "b", "prompt": [{"role": "user", "content": "p1"}]},
    {"id": "c", "prompt": "p2", "answer": "2"},
    {"id": "d", "prompt": "p3", "answer": "3"},
]


@pytest.fixture()
def pool() -> Pool:
    return Pool.from_rows(ROWS)


def _subset(out):
    return [json.loads(line) for line in (out / "subset.jsonl").read_text(encoding="utf-8").splitlines()]


def test_subset_rows_untouched_in_selection_order(tmp_path, pool):
    scores = np.array([0.9, float("nan"), 0.25], dtype=np.float64)
    extras = [{"truncated": False}, {"truncated": True}, {"truncated": np.bool_(False)}]
    out = write_selection(tmp_path / "sel", pool, [3, 1, 0], scores, method="shift", row_extras=extras)
    assert out == tmp_path / "sel"
    subset = _subset(out)
    assert [row["id"] for row in subset] == ["d", "b", "a"]
    for row, index in zip(subset, [3, 1, 0]):
        selection = row.pop("selection")
        assert row == ROWS[index]
        assert selection["index"] == index
    assert [row["selection"]["rank"] for row in _subset(out)] == [0, 1, 2]
    assert [row["selection"]["score"] for row in _subset(out)] == [0.9, None, 0.25]
    assert _subset(out)[1]["selection"] == {"rank": 1, "index": 1, "score": None, "truncated": True}
    assert ROWS[3] == {"id": "d", "prompt": "p3", "answer": "3"}  # the pool's rows are not mutated


def test_manifest_contents(tmp_path, pool):
    out = write_selection(
        tmp_path, pool, np.array([2, 0]), [np.float32(1.5), math.inf], method="random", seed=7, budget=2,
        config={"budget": 2, "path": tmp_path}, model="smollm2-135m-instruct", n_filled=0,
    )
    manifest = read_manifest(out)
    assert manifest["method"] == "random" and manifest["budget"] == 2 and manifest["seed"] == 7
    assert manifest["n_pool"] == 4 and manifest["n_selected"] == 2
    assert manifest["pool_path"] is None and manifest["pool_sha256"] == pool.sha256
    assert (manifest["prompt_key"], manifest["answer_key"], manifest["id_key"]) == ("prompt", "answer", "id")
    assert manifest["indices"] == [2, 0] and manifest["ids"] == ["c", "a"]
    assert manifest["scores"] == [1.5, None]
    assert manifest["config"] == {"budget": 2, "path": str(tmp_path)}
    assert manifest["model"] == "smollm2-135m-instruct"
    assert manifest["oprd_version"] == oprd.__version__
    assert manifest["n_filled"] == 0
    assert manifest["subset_file"] == "subset.jsonl"
    assert manifest["subset_sha256"] == hashlib.sha256((out / "subset.jsonl").read_bytes()).hexdigest()
    stamp = dt.datetime.fromisoformat(manifest["timestamp"])
    assert stamp.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()) < 60
    assert "NaN" not in (out / "manifest.json").read_text() and "Infinity" not in (out / "manifest.json").read_text()


def test_defaults_and_file_pool_path(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    from oprd.data import load_pool

    pool = load_pool(path)
    out = write_selection(tmp_path / "out", pool, [1], None, method="random")
    manifest = read_manifest(out)
    assert manifest["budget"] == 1 and manifest["seed"] is None and manifest["scores"] == [None]
    assert manifest["pool_path"] == str(path) and manifest["pool_sha256"] == pool.sha256
    assert _subset(out)[0]["selection"] == {"rank": 0, "index": 1, "score": None}


def test_existing_selection_column_is_replaced(tmp_path):
    pool = Pool.from_rows([{"prompt": "x", "selection": {"rank": 9, "index": 9, "score": 9}}])
    out = write_selection(tmp_path, pool, [0], [0.5], method="random")
    assert _subset(out)[0] == {"prompt": "x", "selection": {"rank": 0, "index": 0, "score": 0.5}}


def test_manifest_is_deleted_first_and_written_last(tmp_path, pool, monkeypatch):
    out = write_selection(tmp_path, pool, [0, 1], [1.0, 2.0], method="random")
    events = []
    real_rows, real_json = selection_output.write_rows, selection_output.atomic_write_json

    def rows(directory, stem, data, fmt, **kwargs):
        events.append(("rows", stem + "." + fmt, (out / "manifest.json").exists()))
        return real_rows(directory, stem, data, fmt, **kwargs)

    def manifest(path, obj):
        events.append(("json", path.name, (out / "manifest.json").exists()))
        return real_json(path, obj)

    monkeypatch.setattr(selection_output, "write_rows", rows)
    monkeypatch.setattr(selection_output, "atomic_write_json", manifest)
    write_selection(out, pool, [2], [0.1], method="random")
    assert events == [("rows", "subset.jsonl", False), ("json", "manifest.json", False)]
    assert read_manifest(out)["indices"] == [2]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "subset.jsonl"]


def test_failure_midway_leaves_no_manifest(tmp_path, pool, monkeypatch):
    out = write_selection(tmp_path, pool, [0, 1], [1.0, 2.0], method="random")
    old_subset = (out / "subset.jsonl").read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(selection_output, "write_rows", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_selection(out, pool, [3], [0.0], method="random")
    assert not (out / "manifest.json").exists()
    assert (out / "subset.jsonl").read_bytes() == old_subset
    with pytest.raises(OprdInputError, match="not a complete oprd-select output: no manifest.json"):
        read_manifest(out)


def test_failure_inside_atomic_write_keeps_target_and_cleans_temp(tmp_path, pool, monkeypatch):
    out = write_selection(tmp_path, pool, [0], [1.0], method="random")
    old_subset = (out / "subset.jsonl").read_bytes()
    from oprd.data import atomic

    def broken_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        write_selection(out, pool, [1, 2], [1.0, 2.0], method="random")
    assert sorted(p.name for p in out.iterdir()) == ["subset.jsonl"]
    assert (out / "subset.jsonl").read_bytes() == old_subset


@pytest.mark.parametrize(
    ("indices", "scores", "kwargs", "match"),
    [
        ([4], [0.0], {}, "outside the pool"),
        ([-1], [0.0], {}, "outside the pool"),
        ([0, 0], [0.0, 0.0], {}, "repeat"),
        ([0.5], [0.0], {}, "integers"),
        ([0, 1], [0.0], {}, "2 indices"),
        ([0], [0.0], {"row_extras": [{}, {}]}, "row_extras"),
        ([0], [0.0], {"row_extras": [{"rank": 3}]}, "row_extras"),
        ([0], [0.0], {"timestamp": "now"}, "reserved"),
    ],
)
def test_bad_arguments(tmp_path, pool, indices, scores, kwargs, match):
    with pytest.raises(ValueError, match=match):
        write_selection(tmp_path, pool, indices, scores, method="random", **kwargs)
    assert not (tmp_path / "manifest.json").exists()


def test_read_manifest_errors(tmp_path):
    with pytest.raises(OprdInputError) as info:
        read_manifest(tmp_path)
    assert str(info.value) == f"{tmp_path} is not a complete oprd-select output: no manifest.json; re-run the selection"
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(OprdInputError, match="not valid JSON"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("[1]")
    with pytest.raises(OprdInputError, match="JSON object"):
        read_manifest(tmp_path)
