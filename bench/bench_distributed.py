"""One process vs N ranks under torchrun (DistributedDataParallel, gloo): quality and time on small stores.

For each seed, in one run:
  retrieval: a world where each viewer likes one topic (tests/training/world.py build_world, --users
    viewers) -> the two-tower model trained in this process (fit_on) and by `torchrun --nproc_per_node N
    -m reelrank.training.distributed retrieval` with the same config; valid NDCG@10 / HR@10 (each user's
    last positive held out, full ranking) and median epoch seconds;
  ranker: --impressions logged impressions whose likes follow similarity and like rate, skips low
    similarity (write_impressions) -> train_from_logs in this process vs the torchrun `ranker` task;
    per-head AUC (like, skip) on the latest 20%.
Every torchrun run must end with the same weight fingerprint on every rank (checked, not just printed).

Figures only. On a shared 2-core machine the N-rank wall times include torchrun's start-up and the
ranks compete for the cores: this shows quality parity, not a speed-up.

    .venv/bin/python bench/bench_distributed.py [--seeds 0,1,2] [--world 2] [--users 96] [--impressions 6000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.conftest import make_settings  # noqa: E402
from tests.training.world import build_world, write_impressions  # noqa: E402

from common import print_footer, print_header, print_table, spread  # noqa: E402
from reelrank.engine import Engine  # noqa: E402
from reelrank.evaluation.split import holdout_last  # noqa: E402
from reelrank.models.config import TwoTowerConfig  # noqa: E402
from reelrank.state.records.sqlite import SqliteRecordStore  # noqa: E402
from reelrank.training.dataset import load_log_data  # noqa: E402
from reelrank.training.ranker import RankerTrainConfig  # noqa: E402
from reelrank.training.ranker_logs import train_from_logs  # noqa: E402
from reelrank.training.retrieval import fit_on  # noqa: E402

CONFIG: dict[str, Any] = {"dim": 32, "max_len": 32, "layers": 1, "epochs": 12, "batch_size": 32,
                          "in_batch_negatives": 32, "uniform_negatives": 32, "patience": 0, "lr": 5e-3, "threads": 1}
HEADS = ("like", "skip")


def torchrun(world: int, *args: str) -> tuple[dict[str, Any], float]:
    out = Path(args[args.index("--data-dir") + 1]).parent / "summary.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "REELRANK_ENCODER__KIND": "hashing"}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                           str(world), "-m", "reelrank.training.distributed", *args, "--out", str(out)],
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    summary: dict[str, Any] = json.loads(out.read_text())
    reps = summary["replicas"]
    assert len(reps) == world and all(r["ddp"] for r in reps), reps
    assert len({r["weights"] for r in reps}) == 1, f"ranks ended with different weights: {reps}"
    return summary, wall


def retrieval(seed: int, world: int, users: int, root: Path) -> dict[str, float]:
    s = make_settings(root / f"retrieval-{seed}")
    with Engine(s) as e:
        build_world(e, n_users=users, seed=seed)
        data = load_log_data(e.records, s.encoder.dim, progress=False)
    train, valid = holdout_last(data.seqs)
    cfg = {**CONFIG, "seed": seed}
    t = time.perf_counter()
    _, one, _, _ = fit_on(data, TwoTowerConfig(**cfg), train, valid, progress=False)
    wall1 = time.perf_counter() - t
    two, wall2 = torchrun(world, "retrieval", "--data-dir", str(s.data_dir), "--config", json.dumps(cfg))
    return {"ndcg1": one.best_valid["ndcg@10"], "ndcgN": two["valid"]["ndcg@10"], "hr1": one.best_valid["hr@10"],
            "hrN": two["valid"]["hr@10"], "epoch1": float(one.summary()["epoch_seconds_median"]),
            "epochN": two["epoch_seconds_median"], "wall1": wall1, "wallN": wall2}


def ranker(seed: int, world: int, impressions: int, epochs: int, root: Path) -> dict[str, float]:
    s = make_settings(root / f"ranker-{seed}")
    s.data_dir.mkdir(parents=True)
    write_impressions(s.sqlite_path, impressions, seed=seed)
    store = SqliteRecordStore(s.sqlite_path)
    t = time.perf_counter()
    try:
        one = train_from_logs(store, s.data_dir, cfg=RankerTrainConfig(epochs=epochs, threads=1, seed=seed),
                              activate=False, progress=False).metrics
    finally:
        store.close()
    wall1 = time.perf_counter() - t
    two, wall2 = torchrun(world, "ranker", "--data-dir", str(s.data_dir), "--epochs", str(epochs), "--seed", str(seed),
                          "--no-activate")
    row = {f"{h}{k}": m[h]["auc"] for h in HEADS for k, m in (("1", one), ("N", two))}
    return {**row, "wall1": wall1, "wallN": wall2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--world", type=int, default=2, help="ranks (torchrun --nproc_per_node)")
    ap.add_argument("--users", type=int, default=96, help="viewers in the retrieval world")
    ap.add_argument("--impressions", type=int, default=6000, help="logged impressions for the ranker")
    ap.add_argument("--ranker-epochs", type=int, default=4)
    args = ap.parse_args()
    seeds = [int(x) for x in args.seeds.split(",")]
    n = args.world
    print_header(f"1 process vs {n} ranks (DDP, gloo)", [f"two-tower config {json.dumps(CONFIG)}, seed = run seed",
                                                          "torchrun wall includes start-up of every rank"])
    root = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    try:
        run(args, seeds, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_footer()


def run(args: argparse.Namespace, seeds: list[int], root: Path) -> None:
    n = args.world
    rr = [retrieval(seed, n, args.users, root) for seed in seeds]
    cols = ["ndcg1", "ndcgN", "hr1", "hrN", "epoch1", "epochN", "wall1", "wallN"]
    names = ["NDCG@10 1p", f"NDCG@10 {n}r", "HR@10 1p", f"HR@10 {n}r", "epoch s 1p", f"epoch s {n}r", "wall s 1p",
             f"wall s {n}r"]
    print_table(f"two-tower, {args.users} viewers (valid, last positive per user)", ["seed", *names],
                [[seed, *(r[c] for c in cols)] for seed, r in zip(seeds, rr, strict=True)]
                + [["median [min - max]", *(spread([r[c] for r in rr]) for c in cols)]])
    kr = [ranker(seed, n, args.impressions, args.ranker_epochs, root) for seed in seeds]
    cols = [f"{h}{k}" for h in HEADS for k in ("1", "N")] + ["wall1", "wallN"]
    names = [f"{h} AUC {'1p' if k == '1' else f'{n}r'}" for h in HEADS for k in ("1", "N")] + ["wall s 1p",
                                                                                                  f"wall s {n}r"]
    print_table(f"ranker, {args.impressions} impressions, {args.ranker_epochs} epochs (test: latest 20%)",
                ["seed", *names], [[seed, *(r[c] for c in cols)] for seed, r in zip(seeds, kr, strict=True)]
                + [["median [min - max]", *(spread([r[c] for r in kr]) for c in cols)]])


if __name__ == "__main__":
    main()
