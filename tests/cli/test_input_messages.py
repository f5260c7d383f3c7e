"""Messages that help (issue class 8) and nested JSON as one line (class 5), checked through oprd-select."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oprd.cli import select_app

runner = CliRunner()


def _run(pool: Path, tmp_path: Path, *extra: str):
    result = runner.invoke(select_app.app, ["random", "--pool", str(pool), "--out", str(tmp_path / "out"),
                                            "--quiet", *extra])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output, result.output
    assert not (tmp_path / "out" / "manifest.json").exists()
    return result.stderr


def _rows(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_budget_larger_than_the_pool_gives_the_pool_size(tmp_path):
    pool = _rows(tmp_path / "pool.jsonl", [{"prompt": f"p{i}"} for i in range(7)])
    message = _run(pool, tmp_path, "--budget", "50")
    assert "--budget 50 is larger than the pool" in message and "has 7 rows; pass at most 7" in message


def test_a_duplicate_of_an_implied_row_number_says_so(tmp_path):
    pool = _rows(tmp_path / "pool.jsonl", [{"prompt": "a"}, {"prompt": "b", "id": "0"}])
    message = _run(pool, tmp_path)
    assert "duplicate id '0'" in message
    assert "row 0 has no 'id', so its id is its row number 0, which row 1's own id repeats" in message


def test_two_explicit_duplicates_keep_the_plain_message(tmp_path):
    pool = _rows(tmp_path / "pool.jsonl", [{"prompt": "a", "id": "x"}, {"prompt": "b", "id": "x"}])
    message = _run(pool, tmp_path)
    assert "ids must be unique" in message and "row number" not in message


@pytest.mark.parametrize("compress, name", [(gzip.compress, "gzip"), (lambda b: b"BZh91AY&SY" + b, "bzip2")])
def test_a_compressed_file_named_jsonl_says_it_looks_compressed(tmp_path, compress, name):
    pool = tmp_path / "pool.jsonl"
    pool.write_bytes(compress(b'{"prompt": "a"}\n'))
    message = _run(pool, tmp_path)
    assert f"looks {name}-compressed" in message and "decompress it first" in message
    assert "UTF-8" not in message


def test_a_symlink_loop_is_not_reported_as_missing(tmp_path):
    loop = tmp_path / "pool.jsonl"
    loop.symlink_to(loop)
    message = _run(loop, tmp_path)
    assert "symbolic link loop" in message and "does not exist" not in message


def test_a_dangling_link_names_its_target(tmp_path):
    link = tmp_path / "pool.jsonl"
    link.symlink_to(tmp_path / "gone.jsonl")
    assert "is a symbolic link to" in _run(link, tmp_path)


def test_a_config_link_loop_is_named_too(tmp_path):
    pool = _rows(tmp_path / "pool.jsonl", [{"prompt": "a"}])
    config = tmp_path / "cfg.yaml"
    config.symlink_to(config)
    assert "config file" in _run(pool, tmp_path, "--config", str(config))


@pytest.mark.parametrize("depth", [65, 3000, 100_000])
@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_deeply_nested_json_is_one_line(tmp_path, depth, suffix):
    row = '{"prompt": "a", "meta": ' + "[" * depth + "]" * depth + "}"
    pool = tmp_path / f"pool{suffix}"
    pool.write_text(row + "\n")
    assert "nested more than 64 levels deep" in _run(pool, tmp_path)


def test_ordinary_nesting_still_loads(tmp_path):
    from oprd.data import load_pool

    row = {"prompt": [{"role": "user", "content": "hi"}], "meta": {"a": {"b": [[1, 2], [3]]}}}
    assert load_pool(_rows(tmp_path / "pool.jsonl", [row])).n == 1
