"""Can this student learn from this teacher with this loss? Decide once, before training, in one line.

Depth is bridged by the layer map, width by a fitted Bridge, tokenizers by re-tokenisation (OPRD
only: OPD compares next-token distributions, which needs one shared vocabulary).
"""

from __future__ import annotations

from dataclasses import dataclass

from oprd.distill.bridge import Bridge, BridgeModels
from oprd.distill.layer_map import layer_pairs
from oprd.errors import OprdInputError


@dataclass
class DistillPlan:
    """Checked layer pairs and the bridge to apply (None for same-width models)."""

    pairs: list[tuple[int, int]]
    bridge: Bridge | None

    @property
    def student_layers(self) -> list[int]:
        return [s for s, _ in self.pairs]

    @property
    def teacher_layers(self) -> list[int]:
        return [t for _, t in self.pairs]


def plan_representation(models: BridgeModels, layers, *, layer_map: str = "proportional",
                        bridge_path: str | None = None) -> DistillPlan:
    """Layer pairs for OPRD, plus the Bridge when widths differ (required then, checked against ``models``)."""
    pairs = layer_pairs(layers, models.student_depth, models.teacher_depth, mode=layer_map)
    if bridge_path:
        bridge = Bridge.load(bridge_path)
        bridge.check(models, pairs)
        return DistillPlan(pairs, bridge)
    if models.student_width != models.teacher_width:
        raise OprdInputError(
            f"the student {models.student} has width {models.student_width} and the teacher {models.teacher} width "
            f"{models.teacher_width}: run `oprd distill fit-bridge --student {models.student} --teacher "
            f"{models.teacher} --data FILE --out bridge.safetensors` and pass --bridge bridge.safetensors"
        )
    return DistillPlan(pairs, None)


def check_token_distillation(shares_tokens: bool, student_vocab: int, teacher_vocab: int) -> None:
    """OPD needs the teacher to score the student's own token ids over the same vocabulary."""
    if not shares_tokens:
        raise OprdInputError(
            "OPD compares next-token distributions, so the teacher must use the student's tokenizer; "
            "this teacher's tokenizer differs: use --distill oprd (it re-tokenises for the teacher)"
        )
    if student_vocab != teacher_vocab:
        raise OprdInputError(
            f"the student's LM head has {student_vocab} outputs and the teacher's {teacher_vocab}; "
            "OPD needs equal vocabulary sizes: use --distill oprd"
        )
