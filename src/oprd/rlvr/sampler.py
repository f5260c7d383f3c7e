"""A seeded epoch sampler whose position is part of the checkpoint, so resume continues exactly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EpochSampler:
    """Yields row indices in a fresh seeded permutation each epoch; never stalls at an epoch end.

    State is just ``(epoch, position)``: the permutation of an epoch is recomputed from
    ``seed + epoch``, so resuming at any point (including exactly at an epoch boundary) continues
    with the next index instead of training zero steps.
    """

    n: int
    seed: int = 0
    epoch: int = 0
    position: int = 0

    def _order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng(self.seed + epoch).permutation(self.n)

    def take(self, count: int) -> list[tuple[int, int]]:
        """The next ``count`` (row index, epoch) pairs, crossing epoch boundaries as needed."""
        out = []
        while len(out) < count:
            if self.position >= self.n:
                self.epoch += 1
                self.position = 0
            order = self._order(self.epoch)
            stop = min(self.n, self.position + count - len(out))
            out.extend((int(i), self.epoch) for i in order[self.position : stop])
            self.position = stop
        return out

    def state_dict(self) -> dict:
        return {"n": self.n, "seed": self.seed, "epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        if state["n"] != self.n:
            raise ValueError(f"sampler state is for {state['n']} rows, this dataset has {self.n}")
        self.seed, self.epoch, self.position = state["seed"], state["epoch"], state["position"]
