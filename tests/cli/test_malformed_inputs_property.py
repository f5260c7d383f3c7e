"""Property: every malformed pool or config is refused the same way.

For each generated case, ``oprd-select`` (in process, the ``random`` method, so no model is loaded)
must exit with code 2, print exactly one line on stderr and no traceback, write no manifest.json,
and leave every input file byte-identical. Cases are a valid pool with one defect injected at a
random row (or a valid YAML config with one bad key), so each one is malformed by construction.
"""

from __future__ import annotations

import bz2
import gzip
import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from oprd.cli import select_app

runner = CliRunner()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), text)
not_an_object = st.one_of(scalars, st.lists(scalars, max_size=3))
bad_prompt = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.just([]),
                       st.dictionaries(text, scalars, max_size=2), st.lists(st.integers(), min_size=1, max_size=3),
                       st.just([{"role": "user"}]), st.just([{"content": "x"}]), st.just("   "))
bad_answer = st.one_of(st.booleans(), st.dictionaries(text, scalars, min_size=1, max_size=2),
                       st.lists(scalars, min_size=1, max_size=2))
bad_id = st.one_of(st.dictionaries(text, scalars, min_size=1, max_size=2), st.lists(scalars, min_size=1, max_size=2))


def _row(i: int) -> dict:
    return {"id": f"q{i}", "prompt": f"What is {i} + {i}?", "answer": str(2 * i)}


def _lines(rows: list) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


@st.composite
def malformed_pool(draw) -> tuple[str, bytes]:
    """``(file suffix, bytes)`` of a pool with exactly one kind of defect."""
    n = draw(st.integers(2, 6))
    rows = [_row(i) for i in range(n)]
    at = draw(st.integers(0, n - 1))
    kind = draw(st.sampled_from(["row", "prompt", "answer", "id", "duplicate", "missing_prompt", "deep", "json",
                                 "utf8", "compressed", "empty", "suffix"]))
    if kind == "row":
        rows[at] = draw(not_an_object)
    elif kind == "prompt":
        rows[at]["prompt"] = draw(bad_prompt)
    elif kind == "answer":
        rows[at]["answer"] = draw(bad_answer)
    elif kind == "id":
        rows[at]["id"] = draw(bad_id)
    elif kind == "duplicate":
        rows[at]["id"] = rows[(at + 1) % n]["id"]
    elif kind == "missing_prompt":
        del rows[at]["prompt"]
    elif kind == "deep":
        depth = draw(st.integers(65, 5000))
        rows[at]["meta"] = json.loads("[" * 60 + "]" * 60)  # placeholder replaced below as raw text
        data = _lines(rows).replace(b"[" * 60 + b"]" * 60, b"[" * depth + b"]" * depth)
        return draw(st.sampled_from([".jsonl", ".json"])), data
    data = _lines(rows)
    if kind == "json":
        lines = data.split(b"\n")
        cut = draw(st.integers(1, max(1, len(lines[at]) - 1)))
        lines[at] = lines[at][:cut] + draw(st.sampled_from([b"", b"}", b",", b"\x00", b"{{"]))
        data = b"\n".join(lines)
    elif kind == "utf8":
        data = data.replace(b"What", b"Wh\xff\xfe", 1)
    elif kind == "compressed":
        data = draw(st.sampled_from([gzip.compress, bz2.compress]))(data)
    elif kind == "empty":
        data = draw(st.sampled_from([b"", b"\n\n", b"   \n", b"\xef\xbb\xbf"]))
    elif kind == "suffix":
        return draw(st.sampled_from([".txt", ".csv", ""])), data
    return draw(st.sampled_from([".jsonl", ".json", ".ndjson"])) if kind != "json" else ".jsonl", data


SELECTION_KEYS = {
    "max_new_tokens": "int", "batch_size": "int", "seed": "int", "chunk_size": "int", "answer_samples": "int",
    "trust_remote_code": "bool", "exclude_final_norm_layer": "bool", "budget": "number",
    "generation_backend": "choice", "backend": "choice", "embedding": "choice", "dtype": "choice",
}
wrong_for = {
    "int": st.one_of(st.sampled_from(["abc", "1.5", "", "ten"]), st.lists(st.integers(), min_size=1, max_size=2),
                     st.dictionaries(st.just("a"), st.integers(), min_size=1)),
    "bool": st.one_of(st.sampled_from(["maybe", "2", "nope", ""]), st.integers(2, 9),
                      st.lists(st.booleans(), min_size=1, max_size=2)),
    "number": st.one_of(st.sampled_from(["lots", "1/2", ""]), st.lists(st.integers(1, 3), min_size=1, max_size=2),
                        st.dictionaries(st.just("n"), st.integers(), min_size=1)),
    "choice": st.one_of(st.sampled_from(["nope", "HF", "cuda:9"]), st.lists(st.just("hf"), min_size=1, max_size=2),
                        st.dictionaries(st.just("x"), st.integers(), min_size=1)),
}


@st.composite
def malformed_config(draw) -> bytes:
    """A YAML config with one bad key: wrong type or unknown choice, unknown key, not a mapping, or bad YAML."""
    kind = draw(st.sampled_from(["value", "value", "unknown_key", "not_mapping", "syntax"]))
    good = {"seed": 1, "max_new_tokens": 8}
    if kind == "value":
        key = draw(st.sampled_from(sorted(SELECTION_KEYS)))
        return yaml.safe_dump({**good, key: draw(wrong_for[SELECTION_KEYS[key]])}).encode()
    if kind == "unknown_key":
        key = draw(st.sampled_from(["max_tokens", "budgett", "lr", "pool", "out"]))
        return yaml.safe_dump({**good, key: 1}).encode()
    if kind == "not_mapping":
        return yaml.safe_dump(draw(st.one_of(st.lists(st.integers(), min_size=1, max_size=3), st.integers(1, 9),
                                             st.just("budget")))).encode()
    return draw(st.sampled_from([b"seed: [1, 2\n", b"budget: {\n", b"a: b: c\n", b"\t- x\n: y\n"]))


def _assert_refused(files: dict[str, Path], out: Path, args: list[str]) -> None:
    before = {name: path.read_bytes() for name, path in files.items() if path.is_file()}
    result = runner.invoke(select_app.app, ["random", "--out", str(out), "--quiet", "--budget", "2", *args])
    assert result.exit_code == 2, (args, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert not (out / "manifest.json").exists()
    assert {name: files[name].read_bytes() for name in before} == before


@SETTINGS
@given(malformed_pool())
def test_every_malformed_pool_exits_2_with_one_line_and_touches_nothing(case):
    suffix, data = case
    with tempfile.TemporaryDirectory() as tmp:
        pool = Path(tmp) / f"pool{suffix}"
        pool.write_bytes(data)
        _assert_refused({"pool": pool}, Path(tmp) / "out", ["--pool", str(pool)])


@SETTINGS
@given(malformed_config())
def test_every_malformed_config_exits_2_with_one_line_and_touches_nothing(data):
    with tempfile.TemporaryDirectory() as tmp:
        pool, config = Path(tmp) / "pool.jsonl", Path(tmp) / "sel.yaml"
        pool.write_bytes(_lines([_row(i) for i in range(4)]))
        config.write_bytes(data)
        _assert_refused({"pool": pool, "config": config}, Path(tmp) / "out",
                        ["--pool", str(pool), "--config", str(config)])


@settings(max_examples=20, deadline=None)
@given(malformed_pool(), st.sampled_from(["into_pool_dir", "existing_file", "finished"]))
def test_bad_outputs_are_refused_before_the_pool_is_read(case, where):
    suffix, data = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pool = root / "data" / f"pool{suffix}"
        pool.parent.mkdir()
        pool.write_bytes(data)
        files = {"pool": pool}
        if where == "into_pool_dir":
            out = pool.parent
        elif where == "existing_file":
            out = root / "file.txt"
            out.write_text("x")
            files["out"] = out
        else:
            out = root / "done"
            out.mkdir()
            (out / "manifest.json").write_text("{}")
            files["manifest"] = out / "manifest.json"
        before = {name: path.read_bytes() for name, path in files.items()}
        result = runner.invoke(select_app.app, ["random", "--pool", str(pool), "--out", str(out), "--quiet"])
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
        assert ("--out" in result.stderr or "already holds" in result.stderr), result.stderr
        assert {name: path.read_bytes() for name, path in files.items()} == before
