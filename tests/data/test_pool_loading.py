"""load_pool / Pool.from_rows: real-world file shapes, dotted keys, unlabeled rows, and every bad-input error."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oprd.data import Pool, load_pool
from oprd.errors import OprdInputError


def _write(path, text: str | bytes):
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def _jsonl(rows) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


ROWS = [
    {"id": "a", "prompt": "1+1?", "answer": "2"},
    {"id": "b", "prompt": "2+2?", "answer": "4", "extra": {"k": [1, 2]}},
    {"id": "c", "prompt": "3+3?"},
]


def test_jsonl_loads_rows_untouched_with_hash(tmp_path):
    path = _write(tmp_path / "pool.jsonl", _jsonl(ROWS))
    pool = load_pool(path)
    assert pool.rows == ROWS
    assert pool.ids == ["a", "b", "c"]
    assert pool.prompts == ["1+1?", "2+2?", "3+3?"]
    assert pool.answers == ["2", "4", None]
    assert (pool.n, len(pool), pool.n_labeled) == (3, 3, 2)
    assert pool.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (pool.prompt_key, pool.answer_key, pool.id_key) == ("prompt", "answer", "id")
    assert pool.path == path


def test_bom_crlf_and_blank_lines(tmp_path):
    text = "\r\n" + _jsonl(ROWS[:2]).replace("\n", "\r\n") + "\r\n   \r\n" + json.dumps(ROWS[2]) + "\r\n\r\n"
    path = _write(tmp_path / "pool.jsonl", b"\xef\xbb\xbf" + text.encode("utf-8"))
    pool = load_pool(path)
    assert pool.rows == ROWS
    assert pool.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_json_array_file_pretty_printed_with_bom(tmp_path):
    path = _write(tmp_path / "pool.json", b"\xef\xbb\xbf" + json.dumps(ROWS, indent=2).replace("\n", "\r\n").encode())
    assert load_pool(path).rows == ROWS


def test_json_extension_holding_json_lines(tmp_path):
    path = _write(tmp_path / "pool.json", _jsonl(ROWS))
    assert load_pool(path).ids == ["a", "b", "c"]


def test_json_single_object_is_one_row(tmp_path):
    path = _write(tmp_path / "pool.json", json.dumps({"prompt": "hi"}, indent=2))
    pool = load_pool(path)
    assert pool.prompts == ["hi"] and pool.ids == ["0"]


def test_verl_style_dotted_keys(tmp_path):
    rows = [
        {
            "data_source": "gsm8k",
            "prompt": [{"role": "user", "content": "What is 2+3?"}],
            "reward_model": {"style": "rule", "ground_truth": "5"},
            "extra_info": {"index": 7, "question": "2+3"},
        },
        {
            "data_source": "gsm8k",
            "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "7*6?"}],
            "reward_model": {"style": "rule", "ground_truth": 42},
            "extra_info": {"index": 8, "question": "7*6"},
        },
    ]
    path = _write(tmp_path / "verl.jsonl", _jsonl(rows))
    pool = load_pool(path, answer_key="reward_model.ground_truth", id_key="extra_info.index")
    assert pool.answers == ["5", "42"]
    assert pool.ids == ["7", "8"]
    assert pool.prompts[1][1] == {"role": "user", "content": "7*6?"}
    assert pool.rows == rows
    questions = load_pool(path, prompt_key="extra_info.question")
    assert questions.prompts == ["2+3", "7*6"] and questions.answers == [None, None]


def test_trl_style_messages_prompt(tmp_path):
    rows = [{"messages": [{"role": "user", "content": "Say hi"}], "solution": 3.5}]
    pool = load_pool(_write(tmp_path / "trl.jsonl", _jsonl(rows)), prompt_key="messages", answer_key="solution")
    assert pool.prompts == [[{"role": "user", "content": "Say hi"}]]
    assert pool.answers == ["3.5"]


def test_literal_dotted_column_wins(tmp_path):
    rows = [{"a.b": "flat", "a": {"b": "nested"}}]
    assert load_pool(_write(tmp_path / "p.jsonl", _jsonl(rows)), prompt_key="a.b").prompts == ["flat"]


def test_unlabeled_and_numeric_answers_and_default_ids(tmp_path):
    rows = [
        {"prompt": "p0", "answer": None},
        {"prompt": "p1"},
        {"prompt": "p2", "answer": 7},
        {"prompt": "p3", "answer": 0.25},
    ]
    pool = load_pool(_write(tmp_path / "p.jsonl", _jsonl(rows)))
    assert pool.answers == [None, None, "7", "0.25"]
    assert pool.ids == ["0", "1", "2", "3"]
    assert pool.n_labeled == 2


def test_numeric_ids_become_strings(tmp_path):
    pool = load_pool(_write(tmp_path / "p.jsonl", _jsonl([{"id": 10, "prompt": "x"}, {"id": 11, "prompt": "y"}])))
    assert pool.ids == ["10", "11"]


def test_parquet_with_nested_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {"prompt": [{"role": "user", "content": f"q{i}"}], "reward_model": {"ground_truth": str(i)}, "idx": i}
        for i in range(3)
    ]
    path = tmp_path / "pool.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    pool = load_pool(path, answer_key="reward_model.ground_truth", id_key="idx")
    assert pool.rows == rows
    assert pool.answers == ["0", "1", "2"] and pool.ids == ["0", "1", "2"]
    assert pool.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_from_rows_and_head():
    pool = Pool.from_rows(ROWS)
    assert pool.path is None and pool.ids == ["a", "b", "c"] and pool.n_labeled == 2
    assert Pool.from_rows([dict(r) for r in ROWS]).sha256 == pool.sha256
    assert Pool.from_rows(ROWS[:2]).sha256 != pool.sha256
    head = pool.head(2)
    assert head.ids == ["a", "b"] and head.n == 2 and head.sha256 == pool.sha256
    assert pool.n == 3


# ---------------------------------------------------------------- errors


def _error(path, **keys) -> str:
    with pytest.raises(OprdInputError) as info:
        load_pool(path, **keys)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path):
    message = _error(tmp_path / "nope.jsonl")
    assert "nope.jsonl" in message and "does not exist" in message


def test_empty_files(tmp_path):
    assert "no rows" in _error(_write(tmp_path / "empty.jsonl", ""))
    assert "no rows" in _error(_write(tmp_path / "blank.jsonl", "\n\r\n  \n"))
    assert "no rows" in _error(_write(tmp_path / "empty.json", "[]"))


def test_bad_json_line_names_file_and_line(tmp_path):
    path = _write(tmp_path / "bad.jsonl", '{"prompt": "a"}\n\n{"prompt": "b"\n{"prompt": "c"}\n')
    message = _error(path)
    assert "bad.jsonl" in message and "line 3" in message and "not valid JSON" in message


def test_bad_json_array_names_line(tmp_path):
    message = _error(_write(tmp_path / "bad.json", '[\n  {"prompt": "a"},\n  {"prompt": }\n]'))
    assert "bad.json" in message and "line 3" in message


def test_non_utf8_bytes(tmp_path):
    data = b'{"prompt": "ok"}\n{"prompt": "caf\xe9"}\n'
    message = _error(_write(tmp_path / "latin.jsonl", data))
    assert data.index(b"\xe9") == 32
    assert "latin.jsonl, line 2 (byte offset 32): not valid UTF-8" in message


def test_missing_prompt_key_lists_keys_and_flag(tmp_path):
    path = _write(tmp_path / "p.jsonl", _jsonl([{"id": 1, "question": "q", "answer": "a"}]))
    message = _error(path)
    assert "'prompt'" in message and "id, question, answer" in message and "--prompt-key" in message


def test_missing_prompt_in_later_row(tmp_path):
    path = _write(tmp_path / "p.jsonl", _jsonl([{"prompt": "a"}, {"question": "b"}]))
    message = _error(path)
    assert "row index 1 (line 2)" in message and "question" in message


def test_duplicate_ids_name_id_rows_and_flag(tmp_path):
    rows = [{"id": "x", "prompt": "a"}, {"id": "y", "prompt": "b"}, {"id": "x", "prompt": "c"}]
    path = _write(tmp_path / "p.jsonl", _jsonl(rows))
    message = _error(path)
    assert "duplicate id 'x' at row indices 0 and 2 (lines 1 and 3)" in message and "--id-key" in message


def test_duplicate_between_explicit_and_default_id(tmp_path):
    message = _error(_write(tmp_path / "p.jsonl", _jsonl([{"id": "1", "prompt": "a"}, {"prompt": "b"}])))
    assert "duplicate id '1'" in message


@pytest.mark.parametrize(
    ("prompt", "found"),
    [
        (5, "found a number"),
        (None, "found null"),
        ({"text": "hi"}, "found an object"),
        ([], "found an empty list"),
        ([{"role": "user"}], "found a list that is not {role, content} messages"),
    ],
)
def test_prompt_of_wrong_type(tmp_path, prompt, found):
    path = _write(tmp_path / "p.jsonl", _jsonl([{"prompt": "ok"}, {"prompt": prompt}]))
    message = _error(path)
    assert "row index 1 (line 2)" in message and found in message and "string or a list" in message


def test_row_that_is_not_an_object(tmp_path):
    message = _error(_write(tmp_path / "p.jsonl", '{"prompt": "a"}\n[1, 2]\n'))
    assert "row index 1 (line 2): found a list where a row object was expected" in message


def test_answer_of_wrong_type(tmp_path):
    message = _error(_write(tmp_path / "p.jsonl", _jsonl([{"prompt": "a", "answer": ["1", "2"]}])))
    assert "answer" in message and "--answer-key" in message


@pytest.mark.parametrize("name", ["pool.csv", "pool.txt", "pool"])
def test_unsupported_extension(tmp_path, name):
    message = _error(_write(tmp_path / name, "prompt\nx\n"))
    assert "unsupported extension" in message and ".jsonl" in message


def test_directory_and_corrupt_parquet(tmp_path):
    assert "directory" in _error(tmp_path)
    assert "parquet" in _error(_write(tmp_path / "bad.parquet", b"not parquet"))


def test_from_rows_errors():
    with pytest.raises(OprdInputError, match="no rows"):
        Pool.from_rows([])
    with pytest.raises(OprdInputError, match="rows: the first row has no prompt key 'prompt' \\(keys found: q\\)"):
        Pool.from_rows([{"q": "x"}])


def test_non_utf8_offset_counts_the_bom(tmp_path):
    message = _error(_write(tmp_path / "bom.jsonl", b"\xef\xbb\xbf" + b'{"prompt": "\xff"}\n'))
    assert "line 1 (byte offset 15)" in message


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {"prompt": st.text().filter(str.strip), "answer": st.one_of(st.none(), st.text(), st.integers())},
            optional={"note": st.text()},
        ),
        min_size=1,
        max_size=5,
    ),
    crlf=st.booleans(),
    bom=st.booleans(),
)
def test_any_jsonl_round_trips(tmp_path, rows, crlf, bom):
    text = _jsonl(rows).replace("\n", "\r\n" if crlf else "\n")
    path = _write(tmp_path / "round.jsonl", (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    pool = load_pool(path)
    assert pool.rows == rows
    assert pool.answers == [None if r["answer"] is None else str(r["answer"]) for r in rows]


def test_broken_pretty_object_in_json_names_its_line(tmp_path):
    message = _error(_write(tmp_path / "one.json", '{\n  "prompt": "a",\n  "answer": \n}\n'))
    assert "one.json, line 4" in message
