"""The built-in model cache under readers and damage, damaged model configs, and hub ids offline
(issue class 8 and the model-cache bullet of class 9)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from oprd.errors import OprdInputError
from oprd.models import load_model
from oprd.models.loading import load_tokenizer, resolve_model_path
from oprd.models.prepare import prepare_builtin
from oprd.models.prepared_dir import MARKER, is_healthy

TINY = "tiny-random-llama"


def test_a_load_error_does_not_rebuild_a_healthy_directory(monkeypatch):
    path = prepare_builtin(TINY)
    marker = (path / MARKER).stat().st_mtime_ns
    import transformers

    real = transformers.AutoModelForCausalLM.from_pretrained
    calls = []

    def flaky(*args, **kwargs):  # fails once, as a read during a concurrent swap would
        calls.append(1)
        if len(calls) == 1:
            raise OSError("Unable to load weights")
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", flaky)
    model, _ = load_model(TINY)
    assert model.config.num_hidden_layers == 2 and len(calls) == 2
    assert (path / MARKER).stat().st_mtime_ns == marker  # not rebuilt


def test_a_damaged_file_is_detected_and_rebuilt():
    path = prepare_builtin(TINY)
    weights = next(path.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])
    assert not is_healthy(path)
    model, _ = load_model(TINY)
    assert model.config.num_hidden_layers == 2 and is_healthy(path)


def test_readers_never_fail_while_the_cache_is_rebuilt(monkeypatch):
    import oprd.models.tiny as tiny

    prepare_builtin(TINY)
    builds: list[int] = []
    real_save = tiny.save_tiny_model
    monkeypatch.setattr(tiny, "save_tiny_model", lambda out: builds.append(1) or real_save(out))
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                load_tokenizer(TINY)
            except BaseException as exc:
                failures.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(3):
            prepare_builtin(TINY, force=True)
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert failures == []
    assert len(builds) == 3  # only the forced rebuilds: no reader's load error caused another
    assert is_healthy(prepare_builtin(TINY))


@pytest.mark.parametrize("text, needle", [("{not json", "is not valid JSON"),
                                          ('{"hidden_size": 8}', "no model_type")])
def test_a_damaged_config_json_says_what_to_do(tmp_path, text, needle):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(OprdInputError, match=needle) as caught:
        resolve_model_path(str(tmp_path))
    assert "copy config.json again" in str(caught.value)


def test_a_hub_id_offline_fails_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty local cache
    started = time.perf_counter()
    with pytest.raises(OprdInputError, match="HF_HUB_OFFLINE is set.*not in the local Hugging Face cache"):
        resolve_model_path("nobody/no-such-model")
    assert time.perf_counter() - started < 5


def test_an_unreachable_hub_fails_within_the_probe_timeout(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setenv("OPRD_HUB_PROBE_TIMEOUT", "1")
    started = time.perf_counter()
    with pytest.raises(OprdInputError, match="did not answer within 1 s"):
        resolve_model_path("nobody/no-such-model")
    assert time.perf_counter() - started < 5


def test_a_cached_hub_model_is_used_offline(monkeypatch, tmp_path):
    snapshot = tmp_path / "snapshot"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("oprd.models.hub.cached_snapshot", lambda repo_id: str(snapshot))
    assert resolve_model_path("org/cached") == str(snapshot)


def test_marker_records_every_file_with_its_hash():
    path = prepare_builtin(TINY)
    files = json.loads((path / MARKER).read_text())["files"]
    assert "config.json" in files and all(len(entry["sha256"]) == 64 for entry in files.values())
