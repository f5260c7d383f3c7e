"""Bookkeeping of one step's batch across ranks: seeds, global order, refills and statistics.

Each rank rolls out its own share of the step's prompts; a prompt's global *position* in the step
fixes its sampling seed and its place in the global batch, so advantages (which need every group)
and everything derived from them are the same whatever the number of processes. The functions
here gather and slice by those positions, append refill rounds, and turn the batch into the
step's metrics; the trainer's loop (``rlvr/trainer.py``) calls them.
"""

from __future__ import annotations

import hashlib

from oprd.rlvr.hooks import StepBatch
from oprd.rlvr.runtime.distributed import all_gather_objects


def rollout_seed(seed: int, step: int, round_index: int, position: int) -> int:
    """A 31-bit sampling seed that depends only on (run seed, step, refill round, global position),
    so rollouts are the same whatever the number of processes and after a resume."""
    digest = hashlib.sha256(f"{seed}:{step}:{round_index}:{position}".encode()).digest()
    return int.from_bytes(digest[:4], "little") >> 1


def global_rewards(batch: StepBatch, info):
    """All ranks' rewards in global prompt order (a collective; advantages need the whole batch)."""
    import torch

    pieces = all_gather_objects((batch.positions, batch.rewards.tolist()), info)
    g = batch.group_size
    ordered: dict[int, list[float]] = {}
    for positions, rewards in pieces:
        for k, position in enumerate(positions):
            ordered[position] = rewards[k * g : (k + 1) * g]
    return torch.tensor([value for position in sorted(ordered) for value in ordered[position]], dtype=torch.float32)


def local_rows(values, batch: StepBatch, info):
    """This rank's rows of a global per-rollout tensor (global order = sorted positions; a collective)."""
    import torch

    g = batch.group_size
    everyone = sorted(p for positions, _ in all_gather_objects((batch.positions, None), info) for p in positions)
    where = {position: k for k, position in enumerate(everyone)}
    index = [where[p] * g + j for p in batch.positions for j in range(g)]
    return values[torch.tensor(index, dtype=torch.long)]


def concat_batches(first: StepBatch, second: StepBatch) -> StepBatch:
    """Append refill prompts (their global positions are already offset by the refill round)."""
    import torch

    return StepBatch(
        rows=first.rows + second.rows, ids=first.ids + second.ids, epochs=first.epochs + second.epochs,
        prompts=first.prompts + second.prompts, gold=first.gold + second.gold,
        rollouts=first.rollouts + second.rollouts, group_size=first.group_size,
        labels=first.labels + second.labels, weights=first.weights + second.weights,
        rewards=torch.cat([first.rewards, second.rewards]),
        reward_columns={n: first.reward_columns.get(n, []) + second.reward_columns.get(n, [])
                        for n in set(first.reward_columns) | set(second.reward_columns)},
        metrics={**second.metrics, **first.metrics}, positions=first.positions + second.positions,
    )


def loss_share(aggregation: str, mask, n_tokens: float, n_seqs: float) -> float:
    """Weight of one micro-batch's aggregated loss in the global batch loss."""
    if aggregation == "token-mean":
        return float(mask.sum()) / max(n_tokens, 1.0)
    return float((mask.sum(1) > 0).sum()) / max(n_seqs, 1.0)


def sum_over_ranks(values: dict[str, float], info, *, keep_local: tuple[str, ...] = ()) -> dict[str, float]:
    """Sum each metric over ranks (the values are already shares of the global batch) in one
    collective; ``keep_local`` names values that are the same on every rank."""
    summed: dict[str, float] = {}
    for piece in all_gather_objects(values, info):
        for name, value in piece.items():
            summed[name] = summed.get(name, 0.0) + value
    summed.update({name: values[name] for name in keep_local if name in values})
    return summed


def completion_rows(batch: StepBatch, advantages, info) -> list[dict]:
    """Every rank's completions of this step as table rows (a collective): prompt, completion, rewards,
    advantage, the label it trained with and its prompt's weight."""
    g = batch.group_size
    rows = []
    for k, rollout in enumerate(batch.rollouts):
        p = k // g
        row = {"id": batch.ids[p], "prompt": batch.prompts[p], "completion": rollout.text,
               "label": batch.labels[p], "weight": batch.weights[p]}
        if batch.rewards is not None:
            row["reward"] = float(batch.rewards[k])
            row.update({f"reward/{name}": values[k] for name, values in batch.reward_columns.items()})
        if advantages is not None:
            row["advantage"] = float(advantages[k])
        rows.append(row)
    return [row for piece in all_gather_objects(rows, info) for row in piece]


def rollout_stats(batch: StepBatch) -> dict:
    """Length, truncation and epoch of this rank's rollouts."""
    lengths = [float(len(r.response_ids)) for r in batch.rollouts]
    return {
        "completion/length_mean": sum(lengths) / max(len(lengths), 1),
        "completion/truncated_fraction": sum(r.truncated for r in batch.rollouts) / max(len(batch.rollouts), 1),
        "tokens/generated": float(sum(lengths)),
        "epoch": float(max(batch.epochs) if batch.epochs else 0),
    }


def batch_stats(batch: StepBatch, weights) -> dict:
    """Rewards (total and per function), prompt weights and the rollout statistics of this rank."""
    import torch

    stats = {
        "reward/mean": float(batch.rewards.mean()),
        "reward/std": float(batch.rewards.std()) if len(batch.rewards) > 1 else 0.0,
        **rollout_stats(batch),
        "weights/mean": float(weights.mean()),
        "weights/dropped_groups": float((torch.tensor(batch.weights) == 0).sum()),
    }
    for name, values in batch.reward_columns.items():
        stats[f"reward/{name}"] = float(sum(values) / max(len(values), 1))
    return stats
