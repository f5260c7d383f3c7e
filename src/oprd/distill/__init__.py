"""OPRD: on-policy representation distillation, its layer map and Bridge, and the OPD baselines.

Tensors in, tensors out at the bottom (losses, selectors, layer maps, bridge fitting); the teacher
pass and state capture sit on top of them. The GRPO trainer adapts these in
``oprd.rlvr.methods.distill.hook`` (this package never imports ``oprd.rlvr``).
"""

from __future__ import annotations

from oprd.distill.bridge import Bridge, BridgeModels
from oprd.distill.bridge_fit import PairFit, fit_pair, teacher_basis
from oprd.distill.layer_map import layer_map, layer_pairs, student_layers
from oprd.distill.losses import representation_loss
from oprd.distill.opd import OPD_KINDS, opd_loss, student_topk
from oprd.distill.positions import (PositionSpec, parse_positions, select_all, select_first_k, select_last,
                                    select_last_k)
from oprd.distill.states import gather_states
from oprd.distill.teacher import Teacher

__all__ = [
    "Bridge", "BridgeModels", "OPD_KINDS", "PairFit", "PositionSpec", "Teacher", "fit_pair", "gather_states",
    "layer_map", "layer_pairs", "opd_loss", "parse_positions", "representation_loss", "select_all",
    "select_first_k", "select_last", "select_last_k", "student_layers", "student_topk", "teacher_basis",
]
