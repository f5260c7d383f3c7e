"""Which response positions the representation loss reads: ``last_k``, ``first_k``, ``all``, ``last``.

Every selector takes the response start (= prompt length) and response length of each row and
returns ``(index, valid)``, both (B, K): ``index`` holds sequence positions of response tokens,
``valid`` is 1.0 where a column holds a real token of that row (never a prompt token or padding).
Columns are *suffix-aligned* for ``last_k``/``last``/``all`` (column K-1 is every row's last token)
and *prefix-aligned* for ``first_k``; that is how two sides with different tokenizers are paired.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from oprd.errors import OprdInputError

POSITION_KINDS = ("last_k", "first_k", "all", "last")


def _columns(lengths: torch.Tensor, k: int | None, columns: int | None) -> int:
    longest = int(lengths.max()) if lengths.numel() else 0
    return columns if columns is not None else (longest if k is None else min(k, longest))


def _suffix(starts: torch.Tensor, lengths: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Column j is the (width - j)-th token from the end of each response."""
    offset = lengths.unsqueeze(1) - width + torch.arange(width, device=lengths.device).unsqueeze(0)
    valid = offset >= 0
    index = starts.unsqueeze(1) + offset.clamp(min=0)
    return torch.where(valid, index, torch.zeros_like(index)), valid.float()


def _prefix(starts: torch.Tensor, lengths: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Column j is the j-th response token of each row."""
    offset = torch.arange(width, device=lengths.device).unsqueeze(0).expand(len(lengths), width)
    valid = offset < lengths.unsqueeze(1)
    index = starts.unsqueeze(1) + offset
    return torch.where(valid, index, torch.zeros_like(index)), valid.float()


def select_last_k(starts: torch.Tensor, lengths: torch.Tensor, k: int, *, columns: int | None = None):
    """The last ``k`` response tokens of each row (all of them when the response is shorter)."""
    return _suffix(starts, lengths, _columns(lengths, k, columns))


def select_first_k(starts: torch.Tensor, lengths: torch.Tensor, k: int, *, columns: int | None = None):
    """The first ``k`` response tokens of each row."""
    return _prefix(starts, lengths, _columns(lengths, k, columns))


def select_all(starts: torch.Tensor, lengths: torch.Tensor, *, columns: int | None = None):
    """Every response token (suffix-aligned)."""
    return _suffix(starts, lengths, _columns(lengths, None, columns))


def select_last(starts: torch.Tensor, lengths: torch.Tensor, *, columns: int | None = None):
    """The last response token of each row (``columns`` > 1 pads on the left)."""
    return _suffix(starts, lengths, _columns(lengths, 1, columns))


@dataclass(frozen=True)
class PositionSpec:
    """A parsed positions spec (``last_k:2000``, ``first_k:64``, ``all``, ``last``)."""

    kind: str
    k: int | None = None

    @property
    def suffix_aligned(self) -> bool:
        return self.kind != "first_k"

    def count(self, length: int) -> int:
        """How many positions a response of ``length`` tokens contributes."""
        if self.kind == "all":
            return length
        return min(1 if self.kind == "last" else int(self.k), length)

    def select(self, starts: torch.Tensor, lengths: torch.Tensor, *, columns: int | None = None):
        """``(index, valid)`` (B, K) for rows with these response starts and lengths."""
        if self.kind == "last_k":
            return select_last_k(starts, lengths, int(self.k), columns=columns)
        if self.kind == "first_k":
            return select_first_k(starts, lengths, int(self.k), columns=columns)
        if self.kind == "last":
            return select_last(starts, lengths, columns=columns)
        return select_all(starts, lengths, columns=columns)

    def __str__(self) -> str:
        return f"{self.kind}:{self.k}" if self.k is not None else self.kind


def parse_positions(spec: str | PositionSpec) -> PositionSpec:
    """``"last_k:2000"`` -> ``PositionSpec("last_k", 2000)``; anything unparsable is an OprdInputError."""
    if isinstance(spec, PositionSpec):
        return spec
    text = str(spec).strip()
    kind, _, value = text.partition(":")
    if kind in ("all", "last") and not value:
        return PositionSpec(kind)
    if kind in ("last_k", "first_k") and value.strip().isdigit() and int(value) >= 1:
        return PositionSpec(kind, int(value))
    raise OprdInputError(
        f"cannot parse positions spec {spec!r}; use last_k:K, first_k:K (K >= 1), all or last, e.g. last_k:2000"
    )
