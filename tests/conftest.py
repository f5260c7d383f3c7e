"""Shared fixtures: a tiny random Llama built from a config, and an isolated oprd cache."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch, request):
    """Every test gets its own $OPRD_CACHE unless it is an integration test (those share the real
    cache so the built-in model is converted once)."""
    if request.node.get_closest_marker("integration") is None:
        monkeypatch.setenv("OPRD_CACHE", str(tmp_path_factory.mktemp("oprd-cache")))


@pytest.fixture(scope="session")
def tiny():
    """``(model, tokenizer)``: a 2-layer random Llama with a byte-level ChatML tokenizer."""
    from oprd.models.tiny import build_tiny_model

    return build_tiny_model(seed=0)


@pytest.fixture(scope="session")
def builtin():
    """The real built-in model (SmolLM2-135M-Instruct), prepared offline once per machine."""
    from oprd.models import load_model

    return load_model("smollm2-135m-instruct")
