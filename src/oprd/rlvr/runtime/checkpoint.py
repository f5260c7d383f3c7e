"""Atomic ``checkpoint-<step>/`` directories, keep-last-K, and ``--resume auto|PATH``.

A checkpoint holds the model (safetensors) and tokenizer, ``trainer_state.json`` (step, sampler,
RNG states, component states, world size), ``optimizer.pt`` (loaded with ``weights_only=True``)
and ``config.yaml``; under FSDP2 the model and optimizer are written by every rank into
``sharded/`` (``torch.distributed.checkpoint``) and the Hugging Face weights are a consolidated
copy. A LoRA policy's checkpoints hold its adapters only (sharded or not); the base weights always
come from ``--model``. It is written into a temporary sibling directory and renamed, so a run killed at any moment
leaves either a whole checkpoint or none.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from oprd.data.atomic import atomic_write_text
from oprd.errors import OprdInputError
from oprd.rlvr.runtime.distributed import DistInfo

STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"
SHARDED_DIR = "sharded"
_PATTERN = re.compile(r"^checkpoint-(\d+)$")


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch CPU RNG states as JSON-safe values."""
    import torch

    py = random.getstate()
    return {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state().tolist(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    version, inner, gauss = state["python"]
    random.setstate((version, tuple(inner), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))


def _numpy_state() -> list:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def save_checkpoint(out_dir: Path, step: int, policy, tokenizer, optimizer, state: dict, config_yaml: str,
                    keep_last: int, info: DistInfo, *, consolidated: bool = True, merged: bool = False) -> Path:
    """Write ``out_dir/checkpoint-<step>`` atomically, then prune to the newest ``keep_last``.

    Collective: every rank calls it. A sharded (FSDP2) policy is written by every rank into
    ``sharded/`` with ``torch.distributed.checkpoint`` (model and optimizer), plus, with
    ``consolidated``, a Hugging Face directory gathered on rank 0. Otherwise rank 0 writes the
    Hugging Face directory and ``optimizer.pt`` (full, keyed by parameter name). ``config.json`` is
    always there, so a checkpoint can be checked against ``--model`` before anything loads. A LoRA
    policy writes its adapters only (``adapter_model.safetensors``; sharded: the adapters' shards, and
    the gathered adapters with ``consolidated``), plus with ``merged`` a ``merged/`` Hugging Face
    directory of base + adapters that loads in plain transformers (sharded: with ``consolidated``).
    """
    import torch
    from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                         get_optimizer_state_dict, get_state_dict)

    from oprd.models.saving import save_model_dir
    from oprd.rlvr.runtime.distributed import barrier, full_parameters, is_sharded, unsharded, unwrap
    from oprd.rlvr.runtime.model_setup import is_lora, merged_weights

    final = out_dir / f"checkpoint-{step}"
    staging = out_dir / f".checkpoint-{step}.tmp"
    model = unwrap(policy)
    sharded = is_sharded(policy)
    module = getattr(policy, "module", policy)  # the policy module: optimizer and DCP state keys start with "lm."
    if info.is_main:
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
    barrier(info)
    full = StateDictOptions(full_state_dict=True, cpu_offload=True)
    lora = is_lora(model)
    merged_export = None  # a sharded LoRA policy's base + adapters, gathered before rank 0 writes
    if sharded:
        import torch.distributed.checkpoint as dcp

        model_state, optimizer_state = get_state_dict(module, optimizer)
        dcp.save({"model": _saved_part(model_state, lora), "optimizer": optimizer_state},
                 checkpoint_id=str(staging / SHARDED_DIR))
        if lora:  # the adapters, gathered one tensor at a time (a collective)
            weights = {name: tensor.cpu() for name, tensor in full_parameters(model) if "lora_" in name} \
                if consolidated else None
            if merged and consolidated:
                with unsharded(policy):  # base + adapter deltas need whole weights; copies outlive the gather
                    merged_export = {name: tensor.to("cpu", copy=True) for name, tensor in merged_weights(model)}
        else:
            weights = get_model_state_dict(module, options=full) if consolidated else None
        if weights is not None and not lora:  # tied weights are written once, as save_pretrained does
            kept = {name for name, _ in model.named_parameters()} | {name for name, _ in model.named_buffers()}
            weights = {name: tensor for name, tensor in ((n.removeprefix("lm."), t) for n, t in weights.items())
                       if name in kept}
    else:
        weights = None
        optimizer_state = get_optimizer_state_dict(module, optimizer, options=full) if info.is_main else None
    if info.is_main:
        if sharded:
            model.config.save_pretrained(staging)
            if weights is not None:
                model.save_pretrained(staging, state_dict=weights, safe_serialization=True)
            if merged_export is not None:
                save_model_dir(model.get_base_model(), staging / "merged", merged_export.items())
        else:
            model.save_pretrained(staging, safe_serialization=True)
            torch.save(optimizer_state, staging / OPTIMIZER_FILE)
            if lora:
                model.config.save_pretrained(staging)
                if merged:
                    save_model_dir(model.get_base_model(), staging / "merged", merged_weights(model))
        tokenizer.save_pretrained(staging)
        atomic_write_text(staging / "config.yaml", config_yaml)
        (staging / STATE_FILE).write_text(json.dumps({**state, "world_size": info.world_size, "sharded": sharded}))
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
        for old in list_checkpoints(out_dir)[:-keep_last]:
            shutil.rmtree(old, ignore_errors=True)
    barrier(info)
    return final


def _saved_part(model_state: dict, lora: bool) -> dict:
    """What a sharded checkpoint holds of the model: every tensor, or a LoRA policy's adapters only."""
    return {name: tensor for name, tensor in model_state.items() if "lora_" in name} if lora else model_state


def has_weights(checkpoint: Path) -> bool:
    """True when ``checkpoint`` holds Hugging Face weights (not only a sharded state)."""
    return any(checkpoint.glob("*.safetensors"))


def load_training_state(checkpoint: Path, policy, optimizer) -> None:
    """Load the optimizer (and, from a sharded checkpoint, the weights) of ``checkpoint`` into ``policy``.

    A sharded checkpoint is read with ``torch.distributed.checkpoint``, which reshards to the current
    world size (or loads whole into one process). A full one holds the weights in its Hugging Face
    files (loaded before wrapping) and the optimizer in ``optimizer.pt``, which is scattered to the
    shards when the policy is sharded.
    """
    import torch
    from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_state_dict,
                                                         set_optimizer_state_dict, set_state_dict)

    from oprd.rlvr.runtime.distributed import unwrap
    from oprd.rlvr.runtime.model_setup import is_lora

    module = getattr(policy, "module", policy)
    if (checkpoint / SHARDED_DIR).is_dir():
        import torch.distributed.checkpoint as dcp

        lora = is_lora(unwrap(policy))
        model_state, optimizer_state = get_state_dict(module, optimizer)
        state = {"model": _saved_part(model_state, lora), "optimizer": optimizer_state}
        _readable(checkpoint, SHARDED_DIR, lambda: dcp.load(state, checkpoint_id=str(checkpoint / SHARDED_DIR)))
        set_state_dict(module, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"],
                       options=StateDictOptions(strict=not lora))  # LoRA: the base weights come from --model
        return
    saved = _readable(checkpoint, OPTIMIZER_FILE,
                      lambda: torch.load(checkpoint / OPTIMIZER_FILE, weights_only=True))
    set_optimizer_state_dict(module, optimizer, saved, options=StateDictOptions(full_state_dict=True))


def list_checkpoints(out_dir: Path) -> list[Path]:
    """Complete checkpoints under ``out_dir``, oldest first."""
    if not out_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in out_dir.iterdir() if (m := _PATTERN.match(p.name)) and (p / STATE_FILE).is_file()]
    return [p for _, p in sorted(found)]


def resolve_resume(resume: str | None, out_dir: Path) -> Path | None:
    """``auto`` = newest checkpoint in ``out_dir`` (None if there is none); a path must be a checkpoint."""
    if resume is None:
        return None
    if resume == "auto":
        found = list_checkpoints(out_dir)
        return found[-1] if found else None
    path = Path(resume)
    if not (path / STATE_FILE).is_file():
        raise OprdInputError(f"--resume {resume} is not a checkpoint dir (no {STATE_FILE}); pass auto or a checkpoint-<step> dir")
    return path


def read_state(checkpoint: Path) -> dict:
    return _readable(checkpoint, STATE_FILE, lambda: json.loads((checkpoint / STATE_FILE).read_text()))


def _readable(checkpoint: Path, name: str, read):
    """``read()``, with a damaged checkpoint file (truncated, corrupt, missing) as one line saying what to do."""
    try:
        return read()
    except Exception as exc:  # json, pickle, zip and OS errors all mean the same here: the file is damaged
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise OprdInputError(
            f"{checkpoint / name} is damaged ({type(exc).__name__}: {reason[:120]}); resume from an older "
            f"checkpoint with --resume PATH, or delete {checkpoint.name} and --resume auto picks the one before it"
        ) from exc


def check_same_model(checkpoint: Path, base_config) -> None:
    """Refuse to resume from a checkpoint of another architecture or size than ``--model``."""
    saved = _readable(checkpoint, "config.json", lambda: json.loads((checkpoint / "config.json").read_text()))
    for key in ("model_type", "hidden_size", "num_hidden_layers", "vocab_size"):
        if saved.get(key) != getattr(base_config, key, None):
            raise OprdInputError(
                f"checkpoint {checkpoint} is for another model ({key} {saved.get(key)} vs "
                f"{getattr(base_config, key, None)} in --model); resume with the model it was trained from, "
                "or start a new --out"
            )
