"""Pools from datasets folders, shard folders and Hub ids; the pool hash covers what was read."""

from __future__ import annotations

import subprocess
import sys
import time

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oprd.data import Pool, load_pool, read_manifest, source_sha256, write_selection
from oprd.errors import OprdInputError
from oprd.rlvr.dataset import load_train_data

ROWS = [{"id": f"r{i}", "prompt": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(6)]


def _save(path, rows=ROWS):
    datasets.Dataset.from_list(rows).save_to_disk(str(path))
    return path


def test_save_to_disk_folder_is_a_pool(tmp_path):
    pool = load_pool(_save(tmp_path / "saved"))
    assert pool.ids == [r["id"] for r in ROWS] and pool.answers == [r["answer"] for r in ROWS]
    assert pool.source_format == "hf" and pool.sha256 == source_sha256(tmp_path / "saved")


def test_dataset_dict_folder_needs_a_split_and_lists_them(tmp_path):
    folder = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(ROWS),
                          "test": datasets.Dataset.from_list(ROWS[:2])}).save_to_disk(str(folder))
    with pytest.raises(OprdInputError, match="splits train, test; no --split was given"):
        load_pool(folder)
    with pytest.raises(OprdInputError, match="--split 'dev' is not one of them"):
        load_pool(folder, split="dev")
    pool = load_pool(folder, split="test")
    assert pool.n == 2 and pool.origin == {"split": "test"}
    assert pool.sha256 == source_sha256(folder, "test") != source_sha256(folder, "train")


def test_datasets_folder_without_the_prompt_column_lists_the_columns(tmp_path):
    folder = _save(tmp_path / "saved", [{"question": "q", "solution": "1"}])
    with pytest.raises(OprdInputError, match=r"no prompt key 'prompt' \(keys found: question, solution\)"):
        load_pool(folder)


def test_folder_of_parquet_shards_in_name_order(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(ROWS[3:]), folder / "train-00001-of-00002.parquet")
    pq.write_table(pa.Table.from_pylist(ROWS[:3]), folder / "train-00000-of-00002.parquet")
    pool = load_pool(folder)
    assert pool.ids == [r["id"] for r in ROWS] and pool.source_format == "parquet"
    pq.write_table(pa.Table.from_pylist(ROWS[:1]), folder / "test-00000-of-00001.parquet")
    with pytest.raises(OprdInputError, match=r"several splits \(test, train\); pass --split"):
        load_pool(folder)
    assert load_pool(folder, split="train").sha256 == pool.sha256  # the test shard was not read
    assert load_pool(folder, split="test").n == 1


def test_folder_of_json_shards_and_bad_folders(tmp_path):
    folder = tmp_path / "json"
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(f'{{"prompt": "p{i}"}}\n' for i in range(2)))
    (folder / "b.jsonl").write_text('{"prompt": "p2"}\n')
    (folder / "README.md").write_text("not read")
    pool = load_pool(folder)
    assert [p for p in pool.prompts] == ["p0", "p1", "p2"] and pool.source_format == "jsonl"
    before = pool.sha256
    (folder / "README.md").write_text("changed, still not read")
    assert load_pool(folder).sha256 == before
    (folder / "b.jsonl").write_text('{"prompt": "p3"}\n')
    assert load_pool(folder).sha256 != before
    pq.write_table(pa.Table.from_pylist([{"prompt": "x"}]), folder / "c.parquet")
    with pytest.raises(OprdInputError, match="mixes parquet and JSON shards"):
        load_pool(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(OprdInputError, match="holds no .parquet/.jsonl/.json files"):
        load_pool(empty)


def test_split_on_a_file_is_refused(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text('{"prompt": "p"}\n')
    with pytest.raises(OprdInputError, match="--split applies to a datasets folder or a Hub dataset id"):
        load_pool(path, split="train")


def test_trainer_refuses_a_selection_whose_pool_folder_changed(tmp_path):
    folder = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(ROWS)}).save_to_disk(str(folder))
    pool = load_pool(folder, split="train")
    out = write_selection(tmp_path / "sel", pool, [1, 2], None, method="random")
    assert read_manifest(out)["pool_source"] == {"split": "train"}
    assert load_train_data(selected=str(out)).ids == ["r1", "r2"]
    _save(folder / "train", ROWS[:4])
    with pytest.raises(OprdInputError, match="changed since"):
        load_train_data(selected=str(out))


def test_hub_id_without_network_fails_at_once_with_one_line(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    start = time.monotonic()
    with pytest.raises(OprdInputError) as info:
        load_pool("someorg/some-dataset", split="train")
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert "\n" not in message and "hub cannot be reached" in message and "HF_HUB_OFFLINE=1" in message
    with pytest.raises(OprdInputError, match="needs --split"):
        load_pool("someorg/some-dataset")


def test_hub_id_with_hf_hub_offline_exits_2_with_one_line(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", "from oprd.cli.select_app import app; app()", "random", "--pool", "someorg/some-dataset", "--split",
               "train", "--budget", "2", "--out", str(tmp_path / "out")]
    start = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert time.monotonic() - start < 60
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "HF_HUB_OFFLINE is set" in lines[0] and "someorg/some-dataset" in lines[0]


def test_select_api_takes_a_dataset_rows_or_a_folder(tmp_path):
    import oprd

    dataset = datasets.Dataset.from_list(ROWS)
    selection = oprd.select(dataset, 2, method="random", out_dir=tmp_path / "a", progress=False)
    assert read_manifest(tmp_path / "a")["subset_file"] == "subset"
    assert datasets.load_from_disk(str(tmp_path / "a" / "subset"))["id"] == selection.ids
    oprd.select(ROWS, 2, method="random", out_dir=tmp_path / "b", progress=False, format="parquet")
    assert (tmp_path / "b" / "subset.parquet").is_file()
    _save(tmp_path / "saved", [{"q": r["prompt"], "a": r["answer"]} for r in ROWS])
    chosen = oprd.select(str(tmp_path / "saved"), 3, method="random", prompt_key="q", answer_key="a", progress=False)
    assert len(chosen.ids) == 3
    with pytest.raises(OprdInputError, match="pass one split"):
        oprd.select(datasets.DatasetDict({"train": dataset}), 2, method="random", progress=False)
    with pytest.raises(OprdInputError, match="found int"):
        oprd.select(5, 2, method="random", progress=False)


def test_select_shift_on_a_dataset_with_the_tiny_model(tmp_path):
    import oprd

    dataset = datasets.Dataset.from_list(ROWS)
    selection = oprd.select_shift(pool=dataset, budget=3, model="tiny-random-llama", max_new_tokens=4,
                                  out_dir=tmp_path / "sel", progress=False)
    manifest = read_manifest(tmp_path / "sel")
    assert manifest["method"] == "shift" and manifest["subset_file"] == "subset"
    subset = datasets.load_from_disk(str(tmp_path / "sel" / "subset"))
    assert subset["id"] == selection.ids and len(set(selection.ids)) == 3
    assert Pool.from_dataset(dataset).sha256 == manifest["pool_sha256"]
