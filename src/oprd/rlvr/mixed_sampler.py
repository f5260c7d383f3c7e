"""A two-pool sampler: a fixed share of labeled prompts per batch, each pool in its own seeded epochs.

``labeled_ratio`` is met over the run, not only on average: the number of labeled prompts after
``T`` prompts in total is ``T * ratio`` rounded half up, so a batch of 8 at ratio 0.1 alternates between 1
and 0 labeled prompts to keep the running share at 10%. Each pool is an :class:`EpochSampler`
over its own rows (seeds ``seed`` and ``seed + 1``), so the state is the two pools' positions plus
two counters: resuming continues exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from oprd.errors import OprdInputError
from oprd.rlvr.sampler import EpochSampler


class MixedSampler:
    """Draws ``(row index, epoch)`` pairs from a labeled and an unlabeled pool at a fixed ratio.

    The epoch of a pair is its own pool's epoch. ``epoch``/``position`` (for logs) follow the
    unlabeled pool when it is used, else the labeled one.
    """

    def __init__(self, labeled: Sequence[int], unlabeled: Sequence[int], labeled_ratio: float, *,
                 seed: int = 0) -> None:
        if not 0.0 <= labeled_ratio <= 1.0:
            raise OprdInputError(f"labeled_ratio must be in [0, 1]; got {labeled_ratio}")
        if labeled_ratio > 0 and not labeled:
            raise OprdInputError(f"labeled_ratio {labeled_ratio} asks for labeled prompts but the data has none; "
                                 "add answers, use --label-fraction, or leave --labeled-ratio unset")
        if labeled_ratio < 1 and not unlabeled:
            raise OprdInputError(f"labeled_ratio {labeled_ratio} asks for unlabeled prompts but every row is labeled; "
                                 "use --labeled-ratio 1 or --label-fraction to hide labels")
        self.labeled = [int(i) for i in labeled]
        self.unlabeled = [int(i) for i in unlabeled]
        self.ratio = float(labeled_ratio)
        self.pools = (EpochSampler(max(len(self.labeled), 1), seed=seed),
                      EpochSampler(max(len(self.unlabeled), 1), seed=seed + 1))
        self.taken = 0
        self.taken_labeled = 0

    @classmethod
    def from_answers(cls, answers: Sequence[object], labeled_ratio: float, *, seed: int = 0) -> "MixedSampler":
        """Pools from a dataset's answer column (None = unlabeled)."""
        labeled = [i for i, a in enumerate(answers) if a is not None]
        unlabeled = [i for i, a in enumerate(answers) if a is None]
        return cls(labeled, unlabeled, labeled_ratio, seed=seed)

    @property
    def _main(self) -> EpochSampler:
        return self.pools[1] if self.ratio < 1 else self.pools[0]

    @property
    def epoch(self) -> int:
        return self._main.epoch

    @property
    def position(self) -> int:
        return self._main.position

    def take(self, count: int) -> list[tuple[int, int]]:
        """The next ``count`` picks: labeled ones first, then unlabeled (a stable, seeded order)."""
        n_labeled = math.floor((self.taken + count) * self.ratio + 0.5) - self.taken_labeled
        n_labeled = min(max(n_labeled, 0), count)
        picks = [(self.labeled[i], epoch) for i, epoch in self.pools[0].take(n_labeled)] if n_labeled else []
        if count - n_labeled:
            picks += [(self.unlabeled[i], epoch) for i, epoch in self.pools[1].take(count - n_labeled)]
        self.taken += count
        self.taken_labeled += n_labeled
        return picks

    def state_dict(self) -> dict:
        return {"kind": "mixed", "ratio": self.ratio, "n_labeled": len(self.labeled),
                "n_unlabeled": len(self.unlabeled), "labeled": self.pools[0].state_dict(),
                "unlabeled": self.pools[1].state_dict(), "taken": self.taken, "taken_labeled": self.taken_labeled}

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") != "mixed":
            raise OprdInputError("the checkpoint was trained without --labeled-ratio; "
                                 "resume without it or start a new --out")
        if (state["n_labeled"], state["n_unlabeled"]) != (len(self.labeled), len(self.unlabeled)):
            raise OprdInputError(
                f"the checkpoint's sampler saw {state['n_labeled']} labeled / {state['n_unlabeled']} unlabeled rows, "
                f"this data has {len(self.labeled)} / {len(self.unlabeled)}; "
                "resume with the same data and --label-fraction"
            )
        self.pools[0].load_state_dict(state["labeled"])
        self.pools[1].load_state_dict(state["unlabeled"])
        self.taken, self.taken_labeled = int(state["taken"]), int(state["taken_labeled"])
