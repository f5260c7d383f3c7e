"""torch.distributed helpers: one code path for a single process and for torchrun (DDP, FSDP2).

The trainer never reaches inside the wrapper: forwards call the wrapped module, gradient
accumulation goes through :func:`gradient_sync`, generation through :func:`unsharded`, and
checkpoints read and write state through ``torch.distributed.checkpoint.state_dict``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Iterator, Sequence


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed() -> DistInfo:
    """Join the torchrun process group (gloo on CPU, nccl on GPU); a plain run is rank 0 of 1."""
    import torch
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
    return DistInfo(dist.get_rank(), dist.get_world_size(), local)


def all_reduce_sums(values: Sequence[float], info: DistInfo) -> list[float]:
    """Element-wise sums of ``values`` over ranks in one collective (the values themselves in one process)."""
    if not info.enabled:
        return [float(v) for v in values]
    import torch
    import torch.distributed as dist

    device = "cuda" if torch.cuda.is_available() else "cpu"
    tensor = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def all_gather_objects(obj, info: DistInfo) -> list:
    """Every rank's ``obj`` in rank order (``[obj]`` in a single process)."""
    if not info.enabled:
        return [obj]
    import torch.distributed as dist

    out = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled:
        import torch.distributed as dist

        dist.barrier()


def wrap_model(model, info: DistInfo, *, fsdp: bool, head_may_idle: bool = False, chunk_size: int = 0,
               autocast: bool = False):
    """The policy module (``rlvr.policy.PolicyModule``) around the causal LM ``model``: wrapped in
    DDP under torchrun, or sharded with FSDP2 (one unit per decoder block, the policy module as the
    root unit holding embeddings, final norm and LM head) with ``fsdp``; bare in one process.

    ``head_may_idle``: some steps never run the LM head (hidden-state distillation alone), so DDP
    must look for parameters without gradients. ``chunk_size`` and ``autocast`` go to the policy
    module; under FSDP2, ``autocast`` becomes its mixed-precision policy (bfloat16 compute and
    all-gathers, float32 gradient reduction).
    """
    import torch

    from oprd.rlvr.policy import PolicyModule

    sharded_autocast = fsdp and info.enabled and autocast
    policy = PolicyModule(model, chunk_size=chunk_size, autocast=autocast and not sharded_autocast)
    if not info.enabled:
        return policy
    if fsdp:
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        precision = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) \
            if sharded_autocast else MixedPrecisionPolicy()
        for block in model.get_decoder().layers:
            fully_shard(block, mp_policy=precision)
        fully_shard(policy, mp_policy=precision)
        _first_forward_through_root(policy)
        return policy
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [info.local_rank] if torch.cuda.is_available() else None
    return DistributedDataParallel(policy, device_ids=device_ids, find_unused_parameters=head_may_idle)


def _first_forward_through_root(policy) -> None:
    """FSDP2 settles which unit is the root on the first forward; generation calls the blocks
    directly, so one token goes through the root first (a collective: every rank runs it)."""
    import torch

    device = next(policy.parameters()).device
    one = torch.zeros((1, 1), dtype=torch.long, device=device)
    with torch.no_grad():
        policy(one, torch.ones_like(one), one, one, one.float(), logprobs=False)
    policy.reshard()  # the root unit stays gathered after a forward; the optimizer must see the shards


def is_sharded(model) -> bool:
    """True for a model sharded with FSDP2 ``fully_shard``."""
    try:
        from torch.distributed.fsdp import FSDPModule
    except ImportError:  # torch without FSDP2
        return False
    return isinstance(model, FSDPModule)


@contextlib.contextmanager
def gradient_sync(policy, enabled: bool) -> Iterator[None]:
    """Backward passes inside accumulate locally unless ``enabled`` (DDP ``no_sync``; FSDP2
    ``set_requires_gradient_sync``). The forward must run inside too: DDP decides in its forward."""
    if enabled:
        yield
    elif hasattr(policy, "no_sync"):
        with policy.no_sync():
            yield
    elif is_sharded(policy):
        policy.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            policy.set_requires_gradient_sync(True)
    else:
        yield


def _fsdp_units(model) -> list:
    from torch.distributed.fsdp import FSDPModule

    return [module for module in model.modules() if isinstance(module, FSDPModule)]


@contextlib.contextmanager
def unsharded(model) -> Iterator[None]:
    """For generation: gather every FSDP2 unit once and keep it whole until the block ends, so each
    rank can generate its own prompts with any number of forwards (no collective per forward).
    Peak memory is one full copy of the weights per rank, as for a rollout engine. A no-op otherwise."""
    if not is_sharded(model):
        yield
        return
    units = _fsdp_units(model)
    for unit in units:
        unit.unshard()
        unit.set_reshard_after_forward(False, recurse=False)
    try:
        yield
    finally:
        for unit in units:
            unit.set_reshard_after_forward(True, recurse=False)
            unit.reshard()


def unwrap(policy):
    """The causal LM inside a policy module, bare or in a DDP container (FSDP2 shards in place)."""
    return getattr(policy, "module", policy).lm


def full_parameters(model) -> Iterator[tuple[str, Any]]:
    """``(name, tensor)`` for every parameter, each gathered whole one at a time when sharded
    (a collective: every rank must iterate), so no rank ever holds two full copies at once."""
    for name, param in model.named_parameters():
        tensor = param.detach()
        yield name, tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


def total_grad_norm(policy, max_norm: float) -> float:
    """Clip gradients to ``max_norm`` and return their global norm (sharded grads included)."""
    import torch

    norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), max_norm)
    if hasattr(norm, "full_tensor"):
        norm = norm.full_tensor()
    return float(norm)
