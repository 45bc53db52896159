"""DistributedDataParallel plumbing shared by the trainers when they run under torchrun (CPU, gloo).

A trainer that runs as one rank of a torchrun job wraps its model with `wrap` (DDP broadcasts rank 0's
weights at construction and averages gradients over the ranks in its backward hooks), trains on
`shard(n)`, its equal-sized interleaved share of the examples (equal sizes: every rank runs the same
number of steps, so the all-reduces pair up), with `per_rank(batch)` examples per step (the effective
batch stays the single-process one). `replicas` gathers a fingerprint of every rank's weights, which
shows that the ranks stayed synchronised.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

_wrapped: list[str] = []  # class names of the modules this process wrapped (reported by `replicas`)


def rank_world() -> tuple[int, int]:
    return dist.get_rank(), dist.get_world_size()


def wrap(model: nn.Module) -> DistributedDataParallel:
    """`model` (on CPU) as a DDP module over the default process group; every parameter that needs a
    gradient must take part in each forward (no unused-parameter search)."""
    _wrapped.append(type(model).__name__)
    return DistributedDataParallel(model)


def shard(n: int) -> np.ndarray:
    """This rank's rows of n examples: rank, rank + world, ... cut to n // world rows."""
    rank, world = rank_world()
    return np.arange(rank, n, world)[: n // world]


def per_rank(batch: int) -> int:
    return max(1, batch // dist.get_world_size())


def fingerprint(arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def replicas(arrays: list[np.ndarray]) -> list[dict[str, Any]]:
    """Every rank's {rank, ddp (the modules it wrapped), weights (fingerprint of `arrays`)}, in rank order
    (a collective: every rank must call it)."""
    mine = {"rank": dist.get_rank(), "ddp": list(_wrapped), "weights": fingerprint(arrays)}
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, mine)
    return out


def module_arrays(model: nn.Module) -> list[np.ndarray]:
    return [t.detach().numpy() for t in model.state_dict().values() if isinstance(t, torch.Tensor)]
