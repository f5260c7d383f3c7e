import json

import pytest

from oprd.errors import OprdInputError
from oprd.models import (
    build_prompt_ids,
    builtin_names,
    load_model,
    prepare_builtin,
    resolve_model_path,
)
from oprd.models.builtin import model_dir
from oprd.models.prepare import MARKER


def test_unknown_name_lists_builtin_names():
    with pytest.raises(OprdInputError) as info:
        resolve_model_path("no-such-model")
    message = str(info.value)
    assert "no-such-model" in message
    for name in builtin_names():
        assert name in message


def test_directory_without_config_is_rejected(tmp_path):
    with pytest.raises(OprdInputError, match="no config.json"):
        resolve_model_path(str(tmp_path))


def test_hub_id_passes_through_unchanged(monkeypatch):
    monkeypatch.setattr("oprd.models.hub.hub_unreachable", lambda: None)  # as if online
    assert resolve_model_path("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_tiny_alias_prepares_once_and_loads():
    path = prepare_builtin("tiny-random-llama")
    assert json.loads((path / MARKER).read_text())["name"] == "tiny-random-llama"
    stamp = (path / MARKER).stat().st_mtime_ns
    assert prepare_builtin("tiny-random-llama") == path
    assert (path / MARKER).stat().st_mtime_ns == stamp
    model, tokenizer = load_model("tiny-random-llama")
    assert model.config.num_hidden_layers == 2
    assert tokenizer.padding_side == "left"


def test_corrupt_cache_is_rebuilt_not_crashed():
    path = prepare_builtin("tiny-random-llama")
    (path / "model.safetensors").write_bytes(b"garbage")
    model, _ = load_model("tiny-random-llama")
    assert model.config.hidden_size == 64


def test_cache_without_marker_counts_as_incomplete():
    path = model_dir("tiny-random-llama")
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    prepared = prepare_builtin("tiny-random-llama")
    assert (prepared / MARKER).is_file()
    assert (prepared / "model.safetensors").is_file()


def test_bad_dtype_is_a_clear_error():
    with pytest.raises(OprdInputError, match="unknown dtype"):
        load_model("tiny-random-llama", dtype="float99")


def test_prompt_ids_use_chat_template_and_reasoning_instruction(tiny):
    _, tokenizer = tiny
    text = tokenizer.decode(build_prompt_ids(tokenizer, "What is 2+3?"))
    assert text.startswith("<|im_start|>user\nWhat is 2+3?\nPlease reason step by step")
    assert "\\boxed{}" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_chat_messages_are_used_as_given(tiny):
    _, tokenizer = tiny
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]
    text = tokenizer.decode(build_prompt_ids(tokenizer, messages))
    assert text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
