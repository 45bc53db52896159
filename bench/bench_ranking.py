"""Ranking stack figures, in one run on a simulated world (hashing encoder, embedded store):

1. logs: simulated users scroll feeds ordered by the formula; every page's impressions are logged;
2. labels + training: impressions joined to the events that answer them, time split, multi-task
   ranker + distilled pre-ranker trained; per-head AUC and ECE on the held-out (later) impressions;
3. latency: pre-rank over 5,000 candidates and rank over 500 (numpy; median, p99 over repeats);
4. A/B: the same simulated users on two fresh engines, formula vs learned stack: watch seconds and
   likes per session.

    .venv/bin/python bench/bench_ranking.py [--users 150 --sessions 4 --posts 3000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_header, print_table
from reelrank.config import EncoderSettings, IndexSettings, RankingSettings, Settings
from reelrank.engine import Engine
from reelrank.labels.labeller import HEADS
from reelrank.serving.app import create_app
from reelrank.simulation.population import PopulationReport, load_world, run_population
from reelrank.simulation.world import World, WorldConfig, generate_world
from reelrank.state.records.sqlite import SqliteRecordStore
from reelrank.training.ranker import RankerTrainConfig
from reelrank.training.ranker_logs import train_from_logs


def settings(data_dir: Path, ranking: bool = True) -> Settings:
    return Settings(data_dir=data_dir, encoder=EncoderSettings(kind="hashing"), index=IndexSettings(snapshot_every_s=0),
                    cursor_secret="bench", ranking=RankingSettings(enabled=ranking))


def simulate(data_dir: Path, world: World, users: int, sessions: int, seed: int, ranking: bool = True,
             ranker_from: Path | None = None) -> PopulationReport:
    if ranker_from is not None:
        shutil.copytree(ranker_from / "models" / "ranker", data_dir / "models" / "ranker")
    engine = Engine(settings(data_dir, ranking))
    try:
        with TestClient(create_app(engine)) as client:
            load_world(client, world, progress=False)
            return run_population(client, world, n_users=users, sessions=sessions, pages=5, seed=seed,
                                  session_gap=600.0, progress=True)
    finally:
        engine.close()


def latency(run_dir: Path, reps: int) -> list[list[object]]:
    from reelrank.ranking.ranking_stage import RankerHolder

    bundle = RankerHolder(run_dir).get()
    assert bundle is not None
    rng = np.random.default_rng(0)
    rows: list[list[object]] = []
    for stage, n, fn in (("pre-rank", 5000, bundle.preranker.score), ("rank", 500, bundle.ranker.predict)):
        x = rng.normal(size=(n, len(bundle.features))).astype(np.float32)
        fn(x)  # warm
        ms = []
        for _ in range(reps):
            t = time.perf_counter()
            fn(x)
            ms.append((time.perf_counter() - t) * 1000)
        rows.append([stage, n, round(float(np.percentile(ms, 50)), 3), round(float(np.percentile(ms, 99)), 3)])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=150)
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--ab-users", type=int, default=100)
    ap.add_argument("--ab-sessions", type=int, default=3)
    ap.add_argument("--posts", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print_header("ranking stack: heads, latency, simulated engagement",
                 [f"world {args.posts} posts, logs from {args.users} users x {args.sessions} sessions x 5 pages"])
    world = generate_world(WorldConfig(n_users=max(args.users, args.ab_users) * 2, n_creators=80, n_posts=args.posts,
                                       seed=args.seed))
    with tempfile.TemporaryDirectory(prefix="bench_ranking_") as tmp:
        root = Path(tmp)
        logs = root / "logs"
        simulate(logs, world, args.users, args.sessions, args.seed)
        records = SqliteRecordStore(settings(logs).sqlite_path)
        try:
            # Agents fast-forward their clocks; every impression is answered by request id, so label all.
            run = train_from_logs(records, logs, now=time.time() + 10 * 86400,
                                  cfg=RankerTrainConfig(epochs=args.epochs, seed=args.seed))
        finally:
            records.close()
        m = run.metrics
        print_table(f"per-head metrics on held-out (later) impressions: train {run.n_train}, test {run.n_test}",
                    ["head", "AUC", "ECE", "observed rate", "mean predicted"],
                    [[h, m[h]["auc"], m[h]["ece"], m[h]["rate"], m[h]["pred"]] for h in HEADS])
        print(f"watch ratio MAE {m['watch']['mae']} (mean {m['watch']['mean']}); "
              f"pre-ranker vs ranker value correlation {m['prerank_teacher_corr']}")
        print_table("inference latency (numpy, one thread of 2 cores)", ["stage", "candidates", "p50 ms", "p99 ms"],
                    latency(logs, args.reps))
        arms: dict[str, PopulationReport] = {}
        for name, ranking in (("formula", False), ("learned stack", True)):
            arms[name] = simulate(root / name.replace(" ", "_"), world, args.ab_users, args.ab_sessions,
                                  args.seed + 1, ranking=ranking, ranker_from=logs if ranking else None)
        print_table("simulated sessions (same users, same seed), per session",
                    ["arm", "watch s", "likes", "shares", "saves", "skips", "not interested", "feed p50 ms"],
                    [[k, round(r.mean("watch_seconds"), 2), round(r.mean("likes"), 3), round(r.mean("shares"), 3),
                      round(r.mean("saves"), 3), round(r.mean("skips"), 3), round(r.mean("not_interested"), 3),
                      round(r.latency_ms(50), 2)] for k, r in arms.items()])


if __name__ == "__main__":
    main()
