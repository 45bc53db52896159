"""Data-parallel training on CPUs with DistributedDataParallel (gloo), one process per rank under torchrun.

    torchrun --standalone --nproc_per_node 2 -m reelrank.training.distributed retrieval \\
        --data-dir data --out metrics.json [--config '{"epochs": 8}'] [--export [--no-activate]]
    torchrun --standalone --nproc_per_node 2 -m reelrank.training.distributed ranker \\
        --data-dir data --out metrics.json [--epochs 8] [--seed 0] [--include-open] [--no-activate]

Every rank (torchrun sets RANK / WORLD_SIZE / MASTER_ADDR) loads the same data, wraps its model in
DistributedDataParallel (which broadcasts rank 0's initial weights and averages the gradients over the
ranks during backward) and trains on its own interleaved shard of the examples with batch / world_size
per step, so the effective batch is the single-process one and the ranks' weights stay identical.

retrieval: the two-tower trainer (training/trainer.py); its step goes through TwoTowerModel.forward,
the module DDP wraps. Every rank evaluates on the validation cases (the metrics agree, so early stopping
agrees); rank 0 writes the summary to --out and, with --export, publishes the model as a registry
version as `reelrank train retrieval` does (made current unless --no-activate).
ranker: as `reelrank train ranker`, with the labels joined on the fly from the logged impressions and
events (ranker_logs.labelled_examples; the label job's stored shards are not read): split by time, train
with `train_ranker(..., ddp=True)`, evaluate per head; rank 0 publishes the bundle to the registry and
writes the metrics to --out.

The summaries carry `replicas`: per rank, the modules it wrapped in DDP and a fingerprint of its final
weights (equal on every rank when the gradients were synchronised; tests/training/test_distributed.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch.distributed as dist

from reelrank.evaluation.split import holdout_last
from reelrank.models.config import TwoTowerConfig
from reelrank.ranking.ranker_model import ARCHS
from reelrank.training import ddp
from reelrank.training.dataset import LogData, load_log_data
from reelrank.training.ranker_logs import LABEL_SOURCES
from reelrank.training.retrieval import known_sets
from reelrank.training.trainer import Trainer, TrainResult

TASKS = ("retrieval", "ranker")


class DistributedTrainer(Trainer):
    """Trainer for one rank: DDP-wrapped model, this rank's shard of the windows, batch / world_size."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rank, self.world = ddp.rank_world()
        self.windows = [self.windows[i] for i in ddp.shard(len(self.windows))]
        self.cfg = dataclasses.replace(self.cfg, batch_size=ddp.per_rank(self.cfg.batch_size))  # caller's cfg kept
        self.rng = np.random.default_rng(self.cfg.seed + self.rank)  # batch order within the shard
        # self.gen (negative sampling) keeps the same seed on every rank; per-rank seeds measured lower
        # NDCG@10 on bench/bench_distributed.py's world (3 seeds).
        self.net = ddp.wrap(self.model)


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


def _retrieval(args: argparse.Namespace, records: Any, s: Any) -> dict[str, Any]:
    data = load_log_data(records, s.encoder.dim, progress=False)
    train, valid = holdout_last(data.seqs)
    cfg = TwoTowerConfig(**json.loads(args.config))
    trainer, result = fit_distributed(data, cfg, train, valid, progress=True)
    summary = {**result.summary(), "replicas": ddp.replicas(ddp.module_arrays(trainer.model))}
    if args.export and dist.get_rank() == 0:  # what train_retrieval (training/retrieval.py) publishes
        from reelrank.models.registry import ModelRegistry
        from reelrank.training.export import export_model

        known_posts, known_users = known_sets(data, train)
        metrics = {"holdout": "last positive action per user", "world": dist.get_world_size(), **result.summary()}
        summary["version"], _ = export_model(
            ModelRegistry.for_data_dir(s.data_dir), cfg, trainer.model, trainer.item_vectors(), data.post_ids,
            data.active, [data.post_ids[p] for p in np.flatnonzero(known_posts)],
            [u.user_id for i, u in enumerate(data.users) if u is not None and known_users[i]], metrics,
            data.window.as_dict(), args.activate)
    return summary


def _ranker(args: argparse.Namespace, records: Any, s: Any) -> dict[str, Any]:
    """`reelrank train ranker` (training/ranker_logs.py train_from_logs) with the model in DDP; rank 0 publishes."""
    import dataclasses

    from reelrank.ranking.ranking_features import FEATURES
    from reelrank.training.ranker import RankerTrainConfig
    from reelrank.training.ranker_logs import train_from_logs

    rank = dist.get_rank()
    w = args.window_s or s.ranking.attribution_window_s
    now = time.time() + (w if args.include_open else 0.0)
    cfg = RankerTrainConfig(epochs=args.epochs, threads=args.threads, seed=args.seed, experts=args.experts)
    if args.arch:
        cfg = dataclasses.replace(cfg, arch=args.arch)
    try:
        run = train_from_logs(records, s.data_dir, window_s=w, now=now, cfg=cfg, activate=args.activate and rank == 0,
                              progress=rank == 0, labels=args.labels, ddp=True)
    except ValueError as e:  # too few labelled impressions, no stored labels
        raise SystemExit(str(e)) from None
    assert run.bundle is not None
    probe = np.random.default_rng(0).normal(size=(256, len(FEATURES))).astype(np.float32)
    preds = run.bundle.ranker.predict(probe)  # equal on every rank iff the weights are
    return {"version": run.version, "n_train": run.n_train, "n_test": run.n_test, "labels": run.labels,
            **run.metrics, "replicas": ddp.replicas([preds[k] for k in sorted(preds)])}


def parse_args(argv: list[str]) -> argparse.Namespace:
    if not argv or argv[0] not in (*TASKS, "-h", "--help"):
        argv = ["retrieval", *argv]  # the task used to be implicit
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = ap.add_subparsers(dest="task", required=True)
    for task, help_ in (("retrieval", "the two-tower model"), ("ranker", "the multi-task ranker")):
        p = sub.add_parser(task, help=help_)
        p.add_argument("--data-dir", type=Path, required=True)
        p.add_argument("--out", type=Path, help="rank 0 writes the training summary (JSON) here")
    ret = sub.choices["retrieval"]
    ret.add_argument("--config", type=str, default="{}", help="TwoTowerConfig fields as JSON")
    ret.add_argument("--export", action="store_true", help="rank 0 publishes the model as a registry version")
    rk = sub.choices["ranker"]
    rk.add_argument("--epochs", type=int, default=8)
    rk.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    rk.add_argument("--seed", type=int, default=0)
    rk.add_argument("--window-s", type=float, default=None, help="attribution window (default: settings)")
    rk.add_argument("--include-open", action="store_true", help="label impressions whose window is still open")
    rk.add_argument("--labels", choices=LABEL_SOURCES, default="auto",
                    help="where labelled examples come from (as `reelrank train ranker --labels`)")
    rk.add_argument("--arch", choices=ARCHS, default=None, help="default: RankerTrainConfig.arch")
    rk.add_argument("--experts", type=int, default=4, help="MMoE experts")
    rk.add_argument("--activate", action=argparse.BooleanOptionalAction, default=True,
                    help="rank 0 publishes the bundle as the registry's current ranker")
    ret.add_argument("--activate", action=argparse.BooleanOptionalAction, default=True,
                     help="with --export: make the new version current")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    from reelrank.config import Settings
    from reelrank.state.factory import open_records

    args = parse_args(sys.argv[1:] if argv is None else argv)
    dist.init_process_group("gloo")
    try:
        s = Settings(data_dir=args.data_dir)
        s.data_dir.mkdir(parents=True, exist_ok=True)
        records = open_records(s)
        try:
            out = _retrieval(args, records, s) if args.task == "retrieval" else _ranker(args, records, s)
        finally:
            records.close()
        if dist.get_rank() == 0 and args.out:
            args.out.write_text(json.dumps({"task": args.task, "world": dist.get_world_size(), **out}, default=str))
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
