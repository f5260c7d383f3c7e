"""Pools from the Hugging Face Hub through ``datasets.load_dataset``, failing at once without a network.

``load_dataset`` on an unreachable hub retries for a long time and prints a stack of warnings. As for
hub models (:mod:`oprd.models.hub`), the decision is taken first: ``HF_HUB_OFFLINE=1`` reads the local
``datasets`` cache only; otherwise one short probe of the hub endpoint decides, and an unreachable hub
stops the command with one line before ``datasets`` is asked for anything.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from oprd.errors import OprdInputError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".parquet", ".csv", ".arrow", ".txt", ".gz", ".zst")


@dataclass
class HubRows:
    """Rows of one split of a hub dataset and its Arrow schema."""

    rows: list[Any]
    schema: Any


def looks_like_hub_id(text: str) -> bool:
    """``owner/name`` without a data-file suffix (a missing local file is reported as missing, not looked up)."""
    return bool(_HUB_ID.match(text)) and not text.lower().endswith(_DATA_SUFFIXES)


def read_hub(dataset_id: str, split: str | None, config_name: str | None = None) -> HubRows:
    """Rows of ``split`` of hub dataset ``dataset_id`` (``config_name`` = the dataset's subset/config)."""
    from oprd.models.hub import hub_unreachable

    if split is None:
        raise OprdInputError(
            f"--pool {dataset_id} is not a local file or folder, so it is read as a Hub dataset id, which needs "
            "--split (e.g. --split train)"
        )
    offline = _env_true("HF_HUB_OFFLINE") or _env_true("HF_DATASETS_OFFLINE")
    reason = "HF_HUB_OFFLINE is set" if offline else hub_unreachable()
    if reason is not None and not offline:
        raise OprdInputError(
            f"--pool {dataset_id} is not a local file or folder, so it is read as a Hub dataset id, but the hub "
            f"cannot be reached ({reason}); connect to the network, set HF_HUB_OFFLINE=1 to use a copy in the "
            "local datasets cache, or pass a local file or save_to_disk folder"
        )
    import datasets

    try:
        dataset = datasets.load_dataset(dataset_id, config_name, split=split)
    except Exception as exc:  # datasets raises many types (not found, offline, bad split); one line for all
        where = f" ({reason}: only the local datasets cache was used)" if reason else ""
        raise OprdInputError(
            f"Hub dataset {dataset_id!r} split {split!r} could not be loaded{where}: {_short(exc)}; check the id, "
            "--split and --pool-config, or pass a local file or save_to_disk folder"
        ) from None
    return HubRows(dataset.to_list(), dataset.features.arrow_schema)


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:240]
