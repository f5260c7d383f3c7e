"""Resolve a model name (built-in alias, local directory or hub id) and load model + tokenizer."""

from __future__ import annotations

import os
from pathlib import Path

from oprd.errors import OprdInputError
from oprd.models.builtin import builtin_names
from oprd.models.prepare import prepare_builtin


def resolve_model_path(name_or_path: str) -> str:
    """A local directory for aliases and paths; a hub id is returned unchanged.

    Anything that is neither an existing directory, a built-in alias, nor shaped like a hub id
    (``org/name``) is rejected with the list of built-in names.
    """
    if name_or_path in builtin_names():
        return str(prepare_builtin(name_or_path))
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise OprdInputError(f"model directory {name_or_path} has no config.json; pass a Hugging Face model directory")
        _check_config_json(path / "config.json")
        return str(path)
    looks_like_hub_id = name_or_path.count("/") == 1 and not name_or_path.startswith((".", "/", "~"))
    if not looks_like_hub_id:
        raise OprdInputError(
            f"unknown model {name_or_path!r}: not a directory and not a built-in name; "
            f"built-in names: {', '.join(builtin_names())}"
        )
    from oprd.models.hub import resolve_hub_id

    return resolve_hub_id(name_or_path)  # fails fast (or uses the local HF cache) when the hub is unreachable


def _check_config_json(config: Path) -> None:
    """A model's config.json must be a JSON object; a damaged one is named with how to get it back."""
    import json

    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise OprdInputError(
            f"{config} is not valid JSON ({reason}); the model directory is damaged: copy config.json again from "
            "where the model came from (or re-download the model), then retry"
        ) from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise OprdInputError(
            f"{config} is not a Hugging Face model config (no model_type); copy config.json again from where the "
            "model came from (or re-download the model), then retry"
        )


def load_tokenizer(name_or_path: str, *, trust_remote_code: bool = False):
    """The tokenizer of a model, with a pad token (falls back to EOS) and left padding for generation."""
    from transformers import AutoTokenizer

    path = resolve_model_path(name_or_path)
    tokenizer = _guarded(lambda: AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code), name_or_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


def load_model(
    name_or_path: str,
    *,
    dtype: str = "float32",
    device: str | None = None,
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
):
    """Load ``(model, tokenizer)`` in eval mode.

    ``name_or_path``: a built-in alias (see ``oprd models list``), a local Hugging Face directory, or
    a hub id (needs network). Remote code runs only with ``trust_remote_code=True``.
    """
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # oprd draws its own progress; keep stderr to one line per event
    path = resolve_model_path(name_or_path)
    if not hasattr(torch, dtype):
        raise OprdInputError(f"unknown dtype {dtype!r}; use float32, bfloat16 or float16")
    tokenizer = load_tokenizer(name_or_path, trust_remote_code=trust_remote_code)
    kwargs = {"dtype": getattr(torch, dtype), "trust_remote_code": trust_remote_code}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    model = _guarded(lambda: AutoModelForCausalLM.from_pretrained(path, **kwargs), name_or_path)
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.to(device or default_device()).eval()
    return model, tokenizer


def default_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu`` (override with ``OPRD_DEVICE``)."""
    import torch

    return os.environ.get("OPRD_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")


def _guarded(load, name: str):
    """Turn loader failures into one clear line with a next step.

    A built-in model is rebuilt only when its files no longer match their recorded hashes; a healthy
    directory (a concurrent rebuild was swapping it in, say) is simply loaded again.
    """
    try:
        return load()
    except Exception as error:  # loader failures come in many types (OSError, SafetensorError, ...)
        if name in builtin_names():
            prepare_builtin(name, repair=True)
            try:
                return load()
            except Exception as again:
                raise OprdInputError(
                    f"could not load built-in model {name!r}: {_first_line(again)}; rebuild it with "
                    f"`oprd models prepare {name} --force`"
                ) from again
        first = _first_line(error)
        if "trust_remote_code" in str(error):
            raise OprdInputError(f"model {name} needs custom code ({first}); pass --trust-remote-code if you trust it") from error
        raise OprdInputError(
            f"could not load model {name!r}: {first}; check that it is a complete Hugging Face model (config.json, "
            "weights, tokenizer files), or copy or download it again"
        ) from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
