"""Two-tower training and serving costs on an imported store (MovieLens-1M by default).

What it measures, in one run:
  a. training: one epoch over every user's training sequence (leave-one-out train part), wall time,
     targets per second, and the process's peak resident memory, for each --threads value;
  b. the user tower per feed request, as serving runs it: read the user's recent events from the
     store, tokenize, run the tower (BOS + up to max_len actions), p50/p99 over --requests users;
     then the tower alone on the same inputs (without the store read);
  c. the whole feed request (in-process, page 10) with and without the model loaded, p50/p99.

Figures only; nothing here asserts a time. Timings on a shared 2-core machine are noisy: compare the
rows of one run, not runs on different days.

    .venv/bin/reelrank import movielens ../shared/data/ml-1m --data-dir data/ml1m
    .venv/bin/python bench/bench_training.py --data-dir data/ml1m [--threads 1,2] [--requests 500]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from reelrank.config import Settings
from reelrank.domain import FeedRequest, Surface
from reelrank.engine import Engine
from reelrank.evaluation.split import leave_one_out
from reelrank.models.config import TwoTowerConfig
from reelrank.models.query import UserSequences
from reelrank.models.registry import ModelRegistry
from reelrank.training.dataset import load_log_data
from reelrank.training.export import export_model
from reelrank.training.retrieval import fit_on


def pct(xs: list[float]) -> str:
    a = np.asarray(xs)
    return f"p50 {np.percentile(a, 50):7.2f} ms   p99 {np.percentile(a, 99):7.2f} ms   (n={len(a)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("data/ml1m"))
    ap.add_argument("--threads", default="1", help="comma-separated torch thread counts for the epoch timing")
    ap.add_argument("--requests", type=int, default=500)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    s = Settings(data_dir=args.data_dir)
    engine = Engine(s)
    tmp = Path(tempfile.mkdtemp(prefix="bench-training-"))
    reg = ModelRegistry(tmp / "models")
    engine.models.registry = reg  # a private registry: the store's own model (if any) is left alone
    engine.models.reload()
    t = time.perf_counter()
    data = load_log_data(engine.records, s.encoder.dim, progress=False)
    split = leave_one_out(data.seqs)
    print(f"logs: {data.window.n_events:,} events, {len(data.seqs):,} users, {int(data.active.sum()):,} posts "
          f"(read in {time.perf_counter() - t:.1f} s)")
    trainer = None
    for threads in (int(x) for x in args.threads.split(",")):
        cfg = TwoTowerConfig(epochs=1, threads=threads, patience=0)
        trainer, res, known_posts, known_users = fit_on(data, cfg, split.train, [], progress=True)
        targets = res.history[0]["targets_per_s"] * res.epoch_seconds[0]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"one epoch, {threads} thread(s): {res.epoch_seconds[0]:.1f} s, {targets:,.0f} targets, "
              f"{res.history[0]['targets_per_s']:,.0f} targets/s, peak RSS {rss:,.0f} MiB")
    assert trainer is not None
    try:
        export_model(reg, trainer.cfg, trainer.model, trainer.item_vectors(), data.post_ids, data.active,
                     [data.post_ids[p] for p in np.flatnonzero(known_posts)],
                     [u.user_id for i, u in enumerate(data.users) if u is not None and known_users[i]], {}, {})
        feed_plain = feed_latency(engine, args.requests)
        engine.models.reload()
        model = engine.models.current
        assert model is not None
        users = [engine.accounts.profiles[c.uid] for c in split.test[: args.requests]]
        seqs = UserSequences(engine.records, engine.catalogue, s.models.history_len)  # what serving reads
        full, tower = [], []
        for u in users:
            t0 = time.perf_counter()
            tokens = seqs.tokens(u.user_id, [])
            t1 = time.perf_counter()
            model.user_vector(u, tokens)
            t2 = time.perf_counter()
            full.append((t2 - t0) * 1000)
            tower.append((t2 - t1) * 1000)
        print(f"user tower per request (store read + tokens + tower): {pct(full)}")
        print(f"user tower alone (max_len {model.cfg.max_len}, dim {model.cfg.dim}):        {pct(tower)}")
        print(f"feed request without a model:                       {feed_plain}")
        print(f"feed request with the model (user tower + 2 ANN):   {feed_latency(engine, args.requests)}")
        print(f"load average {os.getloadavg()[0]:.1f} at the end (other processes share these cores)")
    finally:
        engine.close()
        shutil.rmtree(tmp, ignore_errors=True)


def feed_latency(engine: Engine, n: int) -> str:
    users = list(engine.accounts.uid_of)[:n]
    times = []
    for uid in users:
        t = time.perf_counter()
        engine.feed_service.feed(FeedRequest(user_id=uid, page_size=10, surface=Surface.REELS))
        times.append((time.perf_counter() - t) * 1000)
    return pct(times[5:] or times)


if __name__ == "__main__":
    main()
