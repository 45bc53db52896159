"""Ranking stack figures, in one run on a simulated world (hashing encoder, embedded store):

1. logs: simulated users scroll feeds ordered by the formula; every page's impressions are logged;
2. labels + training: impressions joined to the events that answer them, time split, multi-task
   ranker + distilled pre-ranker trained; per-head AUC and ECE on the held-out (later) impressions;
3. latency: pre-rank over 5,000 candidates and rank over 500 (numpy; median, p99 over repeats);
4. A/B: the same simulated users on two fresh engines, formula vs learned stack: watch seconds and
   likes per session.

With --compare-arch, steps 2-4 are replaced by shared-bottom vs MMoE on the same logs and the same time
split: per-head held-out AUC and ECE (median [min - max] over --arch-seeds training seeds), training
time, and inference time over 500 candidates on numpy and onnxruntime (the two archs interleaved, so
they share the machine's load; ratio MMoE / shared-bottom from the same run).

    .venv/bin/python bench/bench_ranking.py [--users 150 --sessions 4 --posts 3000] [--compare-arch]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_header, print_table, spread
from reelrank.config import EncoderSettings, IndexSettings, RankingSettings, Settings
from reelrank.engine import Engine
from reelrank.labels.labeller import HEADS
from reelrank.serving.app import create_app
from reelrank.simulation.population import PopulationReport, load_world, run_population
from reelrank.simulation.world import World, WorldConfig, generate_world
from reelrank.state.records.sqlite import SqliteRecordStore
from reelrank.training.ranker import RankerTrainConfig, evaluate, train_ranker
from reelrank.training.ranker_data import RankerData
from reelrank.training.ranker_logs import train_from_logs, training_data


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
    numpy_bundle = RankerHolder(run_dir, backend="numpy").get()
    assert bundle is not None and numpy_bundle is not None
    numpy_ranker = numpy_bundle.ranker
    rng = np.random.default_rng(0)
    rows: list[list[object]] = []
    cases: list[tuple[str, int, Callable[[np.ndarray], object]]] = [
        ("pre-rank (numpy)", 5000, bundle.preranker.score), ("rank (numpy)", 500, numpy_ranker.predict),
        ("rank (numpy)", 5000, numpy_ranker.predict)]
    if bundle.ranker is not numpy_ranker:  # onnxruntime installed: serving uses it
        cases += [("rank (onnxruntime)", n, bundle.ranker.predict) for n in (500, 5000)]
    for stage, n, fn in cases:
        x = rng.normal(size=(n, len(bundle.features))).astype(np.float32)
        fn(x)  # warm
        ms = []
        for _ in range(reps):
            t = time.perf_counter()
            fn(x)
            ms.append((time.perf_counter() - t) * 1000)
        rows.append([stage, n, round(float(np.percentile(ms, 50)), 3), round(float(np.percentile(ms, 99)), 3)])
    rows.append(["whole ranker stage: features + pre-rank 5,000 -> rank 500 + value", 5000,
                 *stage_latency(run_dir, reps)])
    return rows


def stage_latency(run_dir: Path, reps: int) -> list[float]:
    """RankingStage.score end to end on 5,000 candidates with every feature column present."""
    from concurrent.futures import ThreadPoolExecutor

    from reelrank.config import ControlSettings
    from reelrank.domain import Surface, User
    from reelrank.pipeline.candidates import Candidates
    from reelrank.pipeline.context import FeedContext
    from reelrank.ranking.ranking_features import FEATURES, column_of
    from reelrank.ranking.ranking_stage import RankerHolder, RankingStage

    rng = np.random.default_rng(1)
    n = 5000
    st = RankingStage(RankerHolder(run_dir), RankingSettings(prerank_k=500, deadline_ms=1000.0), ControlSettings(),
                      ThreadPoolExecutor(1))
    ctx = FeedContext(uid=1, user=User(user_id="v"), surface=Surface.REELS, page_size=10, now=time.time(),
                      session_id="s", query=None, session=[], following=set(), hidden_creators=set(),
                      seen=np.zeros(0, dtype=np.int64), served=np.zeros(0, dtype=np.int64))
    base = {column_of(f): rng.uniform(size=n).astype(np.float32) for f in FEATURES}
    ms = []
    for _ in range(reps):
        c = Candidates(np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.uint32), dict(base))
        t = time.perf_counter()
        st.score(ctx, c)
        ms.append((time.perf_counter() - t) * 1000)
    return [round(float(np.percentile(ms, 50)), 3), round(float(np.percentile(ms, 99)), 3)]


def compare_archs(data: RankerData, args: argparse.Namespace) -> None:
    """Shared-bottom vs MMoE on one time split of the same labelled logs."""
    from reelrank.ranking.onnx_ranker import OnnxRanker
    from reelrank.ranking.ranker_model import HeadPredictor, MMoERanker, MultiTaskRanker

    train, test = data.time_split(0.2)
    archs = ("shared_bottom", "mmoe")
    metrics: dict[str, list[dict[str, object]]] = {a: [] for a in archs}
    train_s: dict[str, list[float]] = {a: [] for a in archs}
    rankers: dict[str, HeadPredictor] = {}
    for arch in archs:  # warm torch up (first-call costs) before anything is timed
        train_ranker(train.take(np.arange(min(len(train), 512))), RankerTrainConfig(epochs=1, arch=arch),
                     progress=False)
    for seed in range(args.arch_seeds):
        for arch in archs:
            cfg = RankerTrainConfig(epochs=args.epochs, seed=args.seed + seed, arch=arch, experts=args.experts)
            t = time.perf_counter()
            bundle = train_ranker(train, cfg, progress=False)
            train_s[arch].append(time.perf_counter() - t)
            metrics[arch].append(evaluate(bundle, test))
            rankers.setdefault(arch, bundle.ranker)
    rows = []
    for h in HEADS:
        if test.y[:, HEADS.index(h)].sum() == 0:
            continue  # no positives held out (simulated users never report): nothing to measure
        auc = {a: [float(m[h]["auc"]) for m in metrics[a]] for a in archs}  # type: ignore[index]
        ece = {a: [float(m[h]["ece"]) for m in metrics[a]] for a in archs}  # type: ignore[index]
        rows.append([h, round(float(test.y[:, HEADS.index(h)].mean()), 4), *(spread(auc[a]) for a in archs),
                     *(spread(ece[a]) for a in archs)])
    mae = {a: [float(m["watch"]["mae"]) for m in metrics[a]] for a in archs}  # type: ignore[index]
    rows.append(["watch ratio (MAE)", "-", *(spread(mae[a]) for a in archs), "-", "-"])
    print_table(f"held-out (later) impressions, train {len(train)} / test {len(test)}; "
                f"median [min - max] over {args.arch_seeds} seeds, {args.epochs} epochs, MMoE {args.experts} experts",
                ["head", "rate", "AUC shared-bottom", "AUC MMoE", "ECE shared-bottom", "ECE MMoE"], rows)
    print_table("training time (torch, 2 threads), s", ["arch", "median [min - max]"],
                [[a, spread(train_s[a])] for a in archs])
    cases: dict[tuple[str, str], Callable[[np.ndarray], object]] = {}
    for arch in archs:
        cases[(arch, "numpy")] = rankers[arch].predict
        with contextlib.suppress(ImportError):  # onnxruntime not installed: numpy only
            numpy_ranker = rankers[arch]
            assert isinstance(numpy_ranker, MultiTaskRanker | MMoERanker)
            cases[(arch, "onnxruntime")] = OnnxRanker(numpy_ranker).predict
    x = np.random.default_rng(0).normal(size=(500, data.x.shape[1])).astype(np.float32)
    ms: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
    for fn in cases.values():
        fn(x)  # warm
    for _ in range(args.reps):  # interleaved: every case sees the same load
        for k, fn in cases.items():
            t = time.perf_counter()
            fn(x)
            ms[k].append((time.perf_counter() - t) * 1000)
    rows = []
    for (arch, backend), v in ms.items():
        base = float(np.median(ms[("shared_bottom", backend)]))
        rows.append([arch, backend, round(float(np.median(v)), 3), round(float(np.percentile(v, 10)), 3),
                     round(float(np.percentile(v, 90)), 3), round(float(np.percentile(v, 99)), 3),
                     f"{float(np.median(v)) / base:.2f}x"])
    print_table(f"inference over 500 candidates, one thread, {args.reps} interleaved repeats, ms",
                ["arch", "backend", "p50", "p10", "p90", "p99", "p50 / shared-bottom"], rows)


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
    ap.add_argument("--compare-arch", action="store_true", help="shared-bottom vs MMoE instead of steps 2-4")
    ap.add_argument("--arch-seeds", type=int, default=3, help="training seeds per arch (--compare-arch)")
    ap.add_argument("--experts", type=int, default=4, help="MMoE experts (--compare-arch)")
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
        if args.compare_arch:
            try:
                data, source = training_data(records, logs, 1800.0, now=time.time() + 10 * 86400)
            finally:
                records.close()
            print(f"labelled impressions: {source}")
            compare_archs(data, args)
            return
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
        print_table("inference latency (one thread; serving uses onnxruntime when installed)",
                    ["stage", "candidates", "p50 ms", "p99 ms"], latency(logs, args.reps))
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
