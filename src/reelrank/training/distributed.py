"""Data-parallel two-tower training on CPUs: `torchrun --nproc_per_node 2 -m reelrank.training.distributed`.

Each rank (torchrun sets RANK / WORLD_SIZE / MASTER_ADDR) loads the same log data, trains on its own
interleaved shard of the training windows with batch_size / world_size, and after every backward pass
the gradients are averaged over ranks with one all-reduce on the gloo backend before the optimizer
step: the synchronous data parallelism of DistributedDataParallel. DDP's module wrapper itself is not
used because the trainer calls the towers (`model.items`, `model.users`) rather than `forward`, which
DDP's reducer hooks into; the all-reduce below is what its reducer does. Every rank starts from the same
weights (same seed, then a broadcast from rank 0), so they stay identical; every rank evaluates (the
metrics agree, so early stopping agrees); rank 0 writes the result. The effective batch equals the
single-process one, so quality matches one process within noise (tests/training/test_distributed.py).

    torchrun --nproc_per_node 2 -m reelrank.training.distributed --data-dir data --out metrics.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from reelrank.evaluation.split import holdout_last
from reelrank.models.config import TwoTowerConfig
from reelrank.training.dataset import LogData, load_log_data
from reelrank.training.retrieval import known_sets
from reelrank.training.trainer import Trainer, TrainResult


class _AveragedGradients:
    """Wraps the trainer's optimizer: step() first averages every gradient over the ranks."""

    def __init__(self, opt: Any, params: list[torch.nn.Parameter], world: int) -> None:
        self._opt, self._params, self._world = opt, params, world

    def zero_grad(self) -> None:
        self._opt.zero_grad()

    def step(self) -> None:
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self._params]
        flat = torch.cat([g.reshape(-1) for g in grads])  # one all-reduce for the whole model
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self._world
        off = 0
        for p, g in zip(self._params, grads, strict=True):
            n = g.numel()
            p.grad = flat[off : off + n].view_as(p).clone()
            off += n
        self._opt.step()


class DistributedTrainer(Trainer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        with torch.no_grad():
            for p in self.model.parameters():
                dist.broadcast(p.data, 0)
        # Equal-sized interleaved shards: every rank runs the same number of steps (all-reduces match).
        per = len(self.windows) // self.world
        self.windows = self.windows[self.rank :: self.world][:per]
        self.cfg.batch_size = max(1, self.cfg.batch_size // self.world)
        self.rng = np.random.default_rng(self.cfg.seed + self.rank)
        self.opt = _AveragedGradients(self.opt, list(self.model.parameters()), self.world)  # type: ignore[assignment]


def fit_distributed(data: LogData, cfg: TwoTowerConfig, train: dict[int, Any], valid: list[Any],
                    progress: bool = False) -> tuple[Trainer, TrainResult]:
    """fit_on (training/retrieval.py) with a DistributedTrainer; the process group must be initialised."""
    cfg.buckets = data.buckets()
    cfg.content_dim = data.content.shape[1]
    known_posts, known_users = known_sets(data, train)
    items = data.item_features(known_posts, cfg.buckets)
    users = data.user_features(range(len(data.users)), known_users, cfg.buckets)
    trainer = DistributedTrainer(cfg, items, users, np.flatnonzero(data.active), train, valid)
    return trainer, trainer.fit(progress and trainer.rank == 0)


def main() -> None:
    from reelrank.config import Settings
    from reelrank.state.factory import open_records

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, help="rank 0 writes the training summary (JSON) here")
    ap.add_argument("--config", type=str, default="{}", help="TwoTowerConfig fields as JSON")
    args = ap.parse_args()
    dist.init_process_group("gloo")
    try:
        s = Settings(data_dir=args.data_dir)  # type: ignore[call-arg]
        records = open_records(s)
        try:
            data = load_log_data(records, s.encoder.dim, progress=False)
        finally:
            records.close()
        cfg = TwoTowerConfig(**json.loads(args.config))
        train, valid = holdout_last(data.seqs)
        _, result = fit_distributed(data, cfg, train, valid, progress=True)
        if dist.get_rank() == 0 and args.out:
            args.out.write_text(json.dumps({"world": dist.get_world_size(), **result.summary()}, default=str))
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
