"""Selections written in the pool's own format or --format, named by the manifest, read back by the trainer."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from oprd.cli import select_app
from oprd.data import (
    Pool,
    load_pool,
    read_manifest,
    source_sha256,
    write_rows,
    write_selection,
)
from oprd.errors import OprdInputError
from oprd.rlvr.dataset import load_train_data

runner = CliRunner()


def _verl_rows(n: int = 6) -> list[dict]:
    """Rows shaped as verl's preprocessed GSM8K parquet (chat prompt, nested ground truth, int32 index)."""
    return [
        {"data_source": "openai/gsm8k", "prompt": [{"role": "user", "content": f"What is {i} + 1?"}],
         "ability": "math", "reward_model": {"style": "rule", "ground_truth": str(i + 1)},
         "extra_info": {"split": "train", "index": i}}
        for i in range(n)
    ]


@pytest.fixture
def verl_pool(tmp_path):
    schema = pa.schema([
        ("data_source", pa.string()),
        ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        ("extra_info", pa.struct([("split", pa.string()), ("index", pa.int32())])),
    ])
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(_verl_rows(), schema=schema), path)
    return path, schema


def test_parquet_pool_gives_parquet_subset_with_the_same_schema_row_for_row(tmp_path, verl_pool):
    path, schema = verl_pool
    pool = load_pool(path, answer_key="reward_model.ground_truth")
    out = write_selection(tmp_path / "sel", pool, [4, 0, 2], [0.3, 0.2, 0.1], method="shift",
                          row_extras=[{"truncated": False}] * 3)
    manifest = read_manifest(out)
    assert (manifest["subset_file"], manifest["subset_format"]) == ("subset.parquet", "parquet")
    table = pq.read_table(out / "subset.parquet")
    assert table.schema.names == [*schema.names, "selection"]
    for name in schema.names:  # int32 stays int32, structs keep their field order
        assert table.schema.field(name).type == schema.field(name).type
    rows = table.to_pylist()
    assert [{k: v for k, v in row.items() if k != "selection"} for row in rows] == [_verl_rows()[i] for i in (4, 0, 2)]
    assert [row["selection"]["rank"] for row in rows] == [0, 1, 2]
    assert manifest["subset_sha256"] == source_sha256(out / "subset.parquet")


@pytest.mark.parametrize("fmt,name", [("jsonl", "subset.jsonl"), ("json", "subset.json"),
                                      ("parquet", "subset.parquet"), ("hf", "subset")])
def test_every_format_is_named_by_the_manifest_and_read_by_the_trainer(tmp_path, verl_pool, fmt, name):
    pool = load_pool(verl_pool[0], answer_key="reward_model.ground_truth")
    out = write_selection(tmp_path / "sel", pool, [5, 1], [1.0, 0.5], method="random", fmt=fmt)
    manifest = read_manifest(out)
    assert manifest["subset_file"] == name and manifest["subset_format"] == fmt
    assert sorted(p.name for p in out.iterdir()) == sorted([name, "manifest.json"])
    data = load_train_data(selected=str(out))
    assert data.answers == ["6", "2"]
    assert data.prompts[0] == [{"role": "user", "content": "What is 5 + 1?"}]


def test_a_new_format_replaces_the_old_subset_file(tmp_path):
    pool = Pool.from_rows([{"prompt": f"p{i}", "answer": str(i)} for i in range(4)])
    out = write_selection(tmp_path / "sel", pool, [0, 1], None, method="random")
    assert (out / "subset.jsonl").is_file()
    write_selection(out, pool, [2], None, method="random", fmt="hf")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "subset"]
    assert load_train_data(selected=str(out)).answers == ["2"]


def test_modified_folder_subset_is_refused_by_the_trainer(tmp_path):
    pool = Pool.from_rows([{"prompt": f"p{i}", "answer": str(i)} for i in range(4)])
    out = write_selection(tmp_path / "sel", pool, [0, 1], None, method="random", fmt="hf")
    (out / "subset" / "dataset_info.json").write_text("{}")
    with pytest.raises(OprdInputError, match="modified after selection"):
        load_train_data(selected=str(out))


def test_mixed_types_for_parquet_name_the_column_and_the_pool_rows(tmp_path):
    rows = [{"prompt": "a", "meta": 1}, {"prompt": "b", "meta": 2.5}, {"prompt": "c", "meta": "x"}]
    pool = Pool.from_rows(rows)
    with pytest.raises(OprdInputError) as info:
        write_selection(tmp_path / "sel", pool, [1, 2, 0], None, method="random", fmt="parquet")
    message = str(info.value)
    assert "\n" not in message
    assert "column 'meta'" in message and "pool row 1 (id 1)" in message and "pool row 2 (id 2)" in message
    assert "--format jsonl" in message
    assert not (tmp_path / "sel" / "manifest.json").exists()
    write_selection(tmp_path / "sel", pool, [1, 0], None, method="random", fmt="parquet")  # ints and floats mix


def test_mixed_types_deep_inside_a_nested_column_are_named(tmp_path):
    pool = Pool.from_rows([{"prompt": "a", "meta": {"tags": [1, 2]}}, {"prompt": "b", "meta": {"tags": ["x"]}}])
    with pytest.raises(OprdInputError, match=r"column 'meta\.tags\[\]' holds a number in pool row 0"):
        write_selection(tmp_path / "sel", pool, [0, 1], None, method="random", fmt="hf")


def test_write_rows_for_triage_files(tmp_path):
    """The call PivotTrace makes for annotate / weak / triage: rows + format in, file name + hash out."""
    rows = [{"id": "a", "prompt": "p", "answer": "1"}, {"id": "b", "prompt": "q", "answer": None}]
    for fmt in ("jsonl", "json", "parquet", "hf"):
        written = write_rows(tmp_path, "annotate", rows, fmt)
        assert written.format == fmt and (tmp_path / written.name).exists()
        assert written.sha256 == source_sha256(tmp_path / written.name)
        assert load_pool(tmp_path / written.name).rows == rows
    with pytest.raises(OprdInputError, match="'csv' is not an output format"):
        write_rows(tmp_path, "annotate", rows, "csv")


def test_trainer_reads_triage_files_named_by_the_manifest(tmp_path):
    out = tmp_path / "triage"
    labeled = write_rows(out, "annotate", [{"id": "a", "prompt": "1+1?", "answer": "2"}], "parquet")
    weak = write_rows(out, "weak", [{"id": "b", "prompt": "2+2?"}, {"id": "c", "prompt": "3+3?"}], "hf")
    (out / "manifest.json").write_text(json.dumps({
        "method": "pivottrace", "files": {"annotate": labeled.name, "weak": weak.name}, "pool_path": None}))
    data = load_train_data(selected=str(out))
    assert data.ids == ["a", "b", "c"] and data.answers == ["2", None, None]


def test_a_column_that_was_all_null_in_the_pool_takes_the_new_values_type(tmp_path):
    """An unlabeled parquet pool (answer column all null) whose annotated rows get answers written in."""
    path = tmp_path / "pool.parquet"
    pq.write_table(pa.Table.from_pylist([{"prompt": "p", "answer": None}, {"prompt": "q", "answer": None}]), path)
    pool = load_pool(path)
    assert str(pool.schema.field("answer").type) == "null"
    rows = [{**pool.rows[0], "answer": "42"}]
    written = write_rows(tmp_path / "out", "annotate", rows, "parquet", schema=pool.schema)
    assert pq.read_table(tmp_path / "out" / written.name).to_pylist() == rows


def test_dataset_object_defaults_to_a_datasets_folder(tmp_path):
    import datasets

    dataset = datasets.Dataset.from_list([{"prompt": f"p{i}", "answer": str(i)} for i in range(3)])
    pool = Pool.from_dataset(dataset)
    out = write_selection(tmp_path / "sel", pool, [2], None, method="random")
    assert read_manifest(out)["subset_file"] == "subset"
    assert datasets.load_from_disk(str(out / "subset"))[0]["prompt"] == "p2"


def test_cli_writes_the_pool_format_and_refuses_an_unknown_format(tmp_path, verl_pool):
    out = tmp_path / "sel"
    args = ["random", "--pool", str(verl_pool[0]), "--answer-key", "reward_model.ground_truth", "--budget", "2",
            "--out", str(out), "--quiet"]
    result = runner.invoke(select_app.app, args)
    assert result.exit_code == 0, result.output
    assert read_manifest(out)["subset_file"] == "subset.parquet"
    result = runner.invoke(select_app.app, [*args, "--format", "jsonl", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "subset.jsonl"]
    result = runner.invoke(select_app.app, [*args, "--format", "csv", "--overwrite"])
    assert result.exit_code == 2
    assert "output_format" in result.output and "csv" in result.output
