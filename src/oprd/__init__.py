"""oprd: hidden-state data selection and semi-supervised RLVR for LLM reasoning.

Heavy submodules (torch, transformers) load on first use of a name below, so ``import oprd`` is cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "load_pool": "oprd.data",
    "Pool": "oprd.data",
    "write_selection": "oprd.data",
    "load_model": "oprd.models",
    "HFGenerator": "oprd.generation",
    "VLLMGenerator": "oprd.generation",
    "SamplingConfig": "oprd.generation",
    "Rollout": "oprd.generation",
    "capture_features": "oprd.features",
    "CaptureConfig": "oprd.features",
    "extract_answer": "oprd.verify",
    "is_equivalent": "oprd.verify",
    "majority_vote": "oprd.verify",
    "ShiftSelector": "oprd.selectors",
    "shift_features": "oprd.selectors",
    "weighted_farthest_first": "oprd.selectors",
    "farthest_first": "oprd.selectors",
    "select": "oprd.selectors.api",
    "select_shift": "oprd.selectors.api",
    "Selection": "oprd.selectors.pipeline",
    "SelectionConfig": "oprd.selectors.pipeline",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'oprd' has no attribute {name!r}")


if TYPE_CHECKING:
    from oprd.data import Pool, load_pool, write_selection
    from oprd.features import CaptureConfig, capture_features
    from oprd.generation import HFGenerator, Rollout, SamplingConfig, VLLMGenerator
    from oprd.models import load_model
    from oprd.selectors import ShiftSelector, farthest_first, shift_features, weighted_farthest_first
    from oprd.selectors.api import select, select_shift
    from oprd.selectors.pipeline import Selection, SelectionConfig
    from oprd.verify import extract_answer, is_equivalent, majority_vote
