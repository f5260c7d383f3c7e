"""A training step without a verifiable reward: rollouts, then the components' losses alone.

Used when ``reward_funcs`` is ``[none]`` (OPRD-only, the paper's setting): no rewards, advantages,
old/reference log-probs or policy-gradient forward. The student forward happens inside each
component's ``extra_loss`` (for OPRD through the decoder body only, so no logits exist at all).
"""

from __future__ import annotations

import contextlib

import torch

from oprd.rlvr.components import MicroBatch
from oprd.rlvr.distributed import all_reduce_sum
from oprd.rlvr.policy import TokenBatch


def component_only_step(trainer) -> dict:
    """One optimizer step of ``trainer`` on its components' loss terms; returns the step's metrics."""
    config = trainer.config
    batch = trainer._rollout_batch(trainer.sampler.take(config.batch_size), round_index=0)
    for component in trainer.components:
        component.shape_advantages(batch)
    micro = trainer._micro_batches(batch)
    world = trainer.dist.world_size
    n_seqs = all_reduce_sum(float(len(batch.rollouts)), trainer.dist)
    totals: dict[str, float] = {}
    trainer._set_lr()
    trainer.policy.train()
    trainer.optimizer.zero_grad(set_to_none=True)
    for k, rows in enumerate(micro):
        rollouts = [batch.rollouts[i] for i in rows]
        tokens = TokenBatch.from_rollouts(rollouts, trainer.tokenizer.pad_token_id, trainer.model.device)
        share = len(rows) / max(n_seqs, 1.0) * world
        last = k == len(micro) - 1
        sync = contextlib.nullcontext() if last or not hasattr(trainer.policy, "no_sync") else trainer.policy.no_sync()
        with sync:
            total = None
            for component in trainer.components:
                extra = component.extra_loss(trainer.policy, MicroBatch(rollouts, tokens, None))
                if extra is None:
                    continue
                term, stats = extra
                total = term * share if total is None else total + term * share
                for name, value in stats.items():
                    key = f"loss/{component.name}/{name}"
                    totals[key] = totals.get(key, 0.0) + float(value) * share / world
            if total is not None:
                total.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(trainer.policy.parameters(), config.max_grad_norm)
    trainer.optimizer.step()
    lengths = [len(r.response_ids) for r in batch.rollouts]
    return {
        **batch.metrics, **totals,
        "grad_norm": float(grad_norm),
        "lr": trainer.optimizer.param_groups[0]["lr"],
        "completion/length_mean": sum(lengths) / max(len(lengths), 1),
        "completion/truncated_fraction": sum(r.truncated for r in batch.rollouts) / max(len(batch.rollouts), 1),
        "tokens/generated": float(sum(lengths)),
        "epoch": float(max(batch.epochs) if batch.epochs else 0),
    }
