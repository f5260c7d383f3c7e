"""Atomic ``checkpoint-<step>/`` directories, keep-last-K, and ``--resume auto|PATH``.

A checkpoint holds the model (safetensors) and tokenizer, ``trainer_state.json`` (step, sampler,
RNG states, component states), ``optimizer.pt`` (loaded with ``weights_only=True``) and
``config.yaml``. It is written into a temporary sibling directory and renamed, so a run killed at
any moment leaves either a whole checkpoint or none.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from oprd.errors import OprdInputError

STATE_FILE = "trainer_state.json"
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


def save_checkpoint(out_dir: Path, step: int, model, tokenizer, optimizer, state: dict, config_yaml: str,
                    keep_last: int) -> Path:
    """Write ``out_dir/checkpoint-<step>`` atomically, then prune to the newest ``keep_last``."""
    import torch

    final = out_dir / f"checkpoint-{step}"
    staging = out_dir / f".checkpoint-{step}.tmp"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    torch.save(optimizer.state_dict(), staging / "optimizer.pt")
    (staging / "config.yaml").write_text(config_yaml)
    (staging / STATE_FILE).write_text(json.dumps(state))
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
    for old in list_checkpoints(out_dir)[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    return final


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


def load_optimizer(checkpoint: Path, optimizer) -> None:
    import torch

    state = _readable(checkpoint, "optimizer.pt", lambda: torch.load(checkpoint / "optimizer.pt", weights_only=True))
    optimizer.load_state_dict(state)


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
