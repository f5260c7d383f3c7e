"""torch.distributed helpers: one code path for a single process and for torchrun (DDP, FSDP2)."""

from __future__ import annotations

import os
from dataclasses import dataclass


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


def all_reduce_sum(value: float, info: DistInfo) -> float:
    """Sum a float over ranks (identity in a single process)."""
    if not info.enabled:
        return value
    import torch
    import torch.distributed as dist

    device = "cuda" if torch.cuda.is_available() else "cpu"
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return float(tensor.item())


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


def wrap_model(model, info: DistInfo, *, fsdp: bool):
    """DDP (or FSDP2 with ``fsdp``) under torchrun; the model itself otherwise."""
    if not info.enabled:
        return model
    import torch

    if fsdp:
        from torch.distributed.fsdp import fully_shard

        for block in model.get_decoder().layers:
            fully_shard(block)
        fully_shard(model)
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [info.local_rank] if torch.cuda.is_available() else None
    return DistributedDataParallel(model, device_ids=device_ids)
