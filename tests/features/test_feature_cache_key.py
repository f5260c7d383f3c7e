"""Class 9: the feature cache keys on what was fed to the model and on the model's content."""

import os
import shutil

import pytest

from oprd.data import Pool
from oprd.errors import OprdInputError
from oprd.features.cache import token_ids_digest
from oprd.features.pipeline import ExtractionConfig, extract_pool_features
from oprd.generation import SamplingConfig
from oprd.models.fingerprint import directory_digests, hub_commit, model_fingerprint

ROWS = [{"id": "a", "prompt": "What is 2 + 2?", "question": "Name a prime.", "note": "x"},
        {"id": "b", "prompt": "What is 3 + 5?", "question": "Name an even number.", "note": "y"}]


def _extract(tmp_path, pool):
    config = ExtractionConfig(model="tiny-random-llama", sampling=SamplingConfig(max_new_tokens=3, batch_size=2))
    return extract_pool_features(pool, config, cache_root=tmp_path / "features", progress=False)


def test_prompt_key_and_other_columns(tmp_path):
    by_prompt = _extract(tmp_path, Pool.from_rows(ROWS))
    by_question = _extract(tmp_path, Pool.from_rows(ROWS, prompt_key="question"))
    assert by_prompt.cache_dir != by_question.cache_dir  # another prompt column is another input
    other_note = _extract(tmp_path, Pool.from_rows([{**row, "note": "changed"} for row in ROWS]))
    assert other_note.cache_dir == by_prompt.cache_dir  # a column the model never sees does not matter


def test_token_digest_separates_rows():
    assert token_ids_digest([[1, 2], [3]]) != token_ids_digest([[1], [2, 3]])
    assert token_ids_digest([[1, 2], [3]]) == token_ids_digest([[1, 2], [3]])


def _same_size_same_mtime_edit(path, new_bytes):
    stat = path.stat()
    assert len(new_bytes) == stat.st_size
    path.write_bytes(new_bytes)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_local_model_identity_follows_file_content(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    template = model / "tokenizer_config.json"
    template.write_bytes(b'{"chat_template": "AAAA"}')
    (model / "config.json").write_bytes(b"{}")
    first = model_fingerprint("m", str(model))
    _same_size_same_mtime_edit(template, b'{"chat_template": "BBBB"}')  # size and mtime kept, as cp -p would
    second = model_fingerprint("m", str(model))
    assert first["files"]["tokenizer_config.json"] != second["files"]["tokenizer_config.json"]
    backup = tmp_path / "backup.json"
    backup.write_bytes(b'{"chat_template": "AAAA"}')
    shutil.copy2(backup, template)  # restore with preserved times: content decides
    assert model_fingerprint("m", str(model)) == first


def test_digests_are_remembered_until_the_file_changes(tmp_path, monkeypatch):
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"w" * 100)
    first = directory_digests(model)

    def no_rehash(path):
        raise AssertionError("rehashed an unchanged file")

    monkeypatch.setattr("oprd.data.atomic.file_sha256", no_rehash)
    assert directory_digests(model) == first
    (model / "weights.bin").write_bytes(b"v" * 100)
    with pytest.raises(AssertionError, match="rehashed"):
        directory_digests(model)


def test_hub_model_is_identified_by_its_commit(monkeypatch):
    monkeypatch.setattr("huggingface_hub.try_to_load_from_cache",
                        lambda repo, name: f"/hub/models--org--m/snapshots/0123abc/{name}")
    assert model_fingerprint("org/m", "org/m") == {"hub_id": "org/m", "commit": "0123abc"}

    def offline(repo, name):
        raise OSError("no network")

    monkeypatch.setattr("huggingface_hub.try_to_load_from_cache", lambda repo, name: None)
    monkeypatch.setattr("huggingface_hub.hf_hub_download", offline)
    with pytest.raises(OprdInputError, match="cannot tell which commit of hub model 'org/m'"):
        hub_commit("org/m")
