"""atomic_write_text / atomic_write_json / file_sha256."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from oprd.data import atomic, atomic_write_json, atomic_write_text, file_sha256


def test_text_roundtrip_creates_parents_and_replaces(tmp_path):
    path = tmp_path / "a" / "b" / "f.txt"
    assert atomic_write_text(path, "first ü\n") == path
    atomic_write_text(path, "second\n")
    assert path.read_text(encoding="utf-8") == "second\n"
    assert os.listdir(path.parent) == ["f.txt"]


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_json_is_strict(tmp_path):
    value = {"a": float("nan"), "b": np.arange(3), "c": np.float32(0.5), "d": (1, 2)}
    path = atomic_write_json(tmp_path / "m.json", value)
    assert json.loads(path.read_text()) == {"a": None, "b": [0, 1, 2], "c": 0.5, "d": [1, 2]}


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = atomic_write_text(tmp_path / "f.txt", "old")

    def broken(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(atomic.os, "fsync", broken)
    with pytest.raises(OSError):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_file_sha256(tmp_path):
    data = os.urandom(3 * (1 << 20) + 17)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
