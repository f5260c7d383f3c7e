"""The Bridge: frozen low-rank projections that let a student distil from a teacher of another width.

Per distilled layer pair: teacher states are centred and projected on the top-r principal
directions of the teacher (``teacher_mean``, ``teacher_basis`` (r, d_t)); student states go through
a linear map (``student_weight`` (r, d_s), ``student_bias``) fitted to predict those projections.
Training then compares the two r-dimensional projections, L2-normalised (docs/methods/oprd.md, "A teacher of another depth, width or tokenizer").
Saved as safetensors with the models' names, widths, depths and layer pairs in the metadata, so a
bridge is never applied to models it was not fitted for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from oprd.errors import OprdInputError

FORMAT = "oprd-bridge/1"


@dataclass
class BridgeModels:
    """What a bridge was fitted for."""

    student: str
    teacher: str
    student_width: int
    teacher_width: int
    student_depth: int
    teacher_depth: int


@dataclass
class Bridge:
    """Per-pair projections; tensors are stacked over the P layer pairs."""

    models: BridgeModels
    pairs: list[tuple[int, int]]
    teacher_mean: torch.Tensor  # (P, d_t)
    teacher_basis: torch.Tensor  # (P, r, d_t)
    student_weight: torch.Tensor  # (P, r, d_s)
    student_bias: torch.Tensor  # (P, r)
    positions: str = ""

    @property
    def rank(self) -> int:
        return int(self.teacher_basis.shape[1])

    def to(self, device) -> "Bridge":
        moved = (t.to(device) for t in (self.teacher_mean, self.teacher_basis, self.student_weight, self.student_bias))
        return Bridge(self.models, self.pairs, *moved, positions=self.positions)

    def project_teacher(self, states: torch.Tensor) -> torch.Tensor:
        """(B, P, K, d_t) -> (B, P, K, r): centred and projected on the teacher's principal directions."""
        mean = self.teacher_mean.to(states)
        return torch.einsum("bpkd,prd->bpkr", states - mean[None, :, None, :], self.teacher_basis.to(states))

    def project_student(self, states: torch.Tensor) -> torch.Tensor:
        """(B, P, K, d_s) -> (B, P, K, r) through the fitted student projector (gradient flows to the states)."""
        out = torch.einsum("bpkd,prd->bpkr", states, self.student_weight.to(states))
        return out + self.student_bias.to(states)[None, :, None, :]

    def save(self, path: str | Path) -> Path:
        """Write tensors and metadata to one safetensors file (atomically)."""
        from safetensors.torch import save

        from oprd.data.atomic import atomic_write_bytes

        tensors = {"teacher_mean": self.teacher_mean, "teacher_basis": self.teacher_basis,
                   "student_weight": self.student_weight, "student_bias": self.student_bias}
        meta = {"format": FORMAT, "models": json.dumps(self.models.__dict__), "pairs": json.dumps(self.pairs),
                "positions": self.positions}
        payload = save({k: v.detach().float().cpu().contiguous() for k, v in tensors.items()}, metadata=meta)
        return atomic_write_bytes(path, payload)

    @classmethod
    def load(cls, path: str | Path) -> "Bridge":
        """Read a bridge written by :meth:`save`; anything else is an OprdInputError."""
        from safetensors import safe_open

        file = Path(path)
        if not file.is_file():
            raise OprdInputError(f"bridge file {file} does not exist; create it with `oprd distill fit-bridge`")
        try:
            with safe_open(str(file), framework="pt") as handle:
                meta = handle.metadata() or {}
                tensors = {key: handle.get_tensor(key) for key in handle.keys()}
            if meta.get("format") != FORMAT:
                raise KeyError("format")
            models = BridgeModels(**json.loads(meta["models"]))
            pairs = [tuple(pair) for pair in json.loads(meta["pairs"])]
            return cls(models, pairs, tensors["teacher_mean"], tensors["teacher_basis"], tensors["student_weight"],
                       tensors["student_bias"], positions=meta.get("positions", ""))
        except OprdInputError:
            raise
        except Exception:
            raise OprdInputError(
                f"{file} is not an oprd bridge file; create one with `oprd distill fit-bridge`"
            ) from None

    def check(self, models: BridgeModels, pairs: list[tuple[int, int]]) -> None:
        """Refuse a bridge fitted for other models (names, widths, depths) or other layer pairs."""
        mine = self.models
        if mine != models:
            raise OprdInputError(
                f"this bridge was fitted for student {mine.student} (width {mine.student_width}, {mine.student_depth} "
                f"layers) and teacher {mine.teacher} (width {mine.teacher_width}, {mine.teacher_depth} layers), not "
                f"student {models.student} (width {models.student_width}, {models.student_depth} layers) and teacher "
                f"{models.teacher} (width {models.teacher_width}, {models.teacher_depth} layers); run "
                f"`oprd distill fit-bridge --student {models.student} --teacher {models.teacher}` for this pair"
            )
        if [tuple(p) for p in self.pairs] != [tuple(p) for p in pairs]:
            raise OprdInputError(
                f"this bridge covers layer pairs {self.pairs} but training distils {pairs}; use the --distill-layers "
                "the bridge was fitted with or fit it again with the same layers"
            )
