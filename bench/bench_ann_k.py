"""What the ANN source's k costs and buys on a cached benchmark catalogue (1M posts by default).

For each k (FAISS HNSW searches with efSearch = max(index.ef_search, k)), on the query vectors of
random warmed users:
  1. search alone, one thread: p50 / p99 ms, recall@k against exact top-k, share of the exact top-100 found;
  2. the whole feed (in-process, learned stack when --ranker-from is given): p50 / p99 ms and the
     share of the page equal to the page served with the default k to the same user, each user's
     requests back to back in every mode; the default k run twice gives the noise floor (exploration
     and other randomness change pages too).
Figures only; nothing here asserts a time.

    .venv/bin/python bench/bench_ann_k.py [--posts 1000000] [--ks 600,450,400,300] [--users 200] [--ranker-from DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_feed import FeedRunner, ranker_installed
from common import bench_settings, ensure_store, pct, print_footer, print_header, print_table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--posts", type=int, default=1_000_000)
    p.add_argument("--ks", default="600,450,400,300", help="k values; the first is the reference")
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--ranker-from", type=Path, default=None, help="as bench_feed.py --ranker-from")
    args = p.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    print_header(f"ANN source k: latency, recall and page change, {args.posts:,} posts")
    store = ensure_store(args.posts)
    from reelrank.domain import FeedRequest, Surface
    from reelrank.engine import Engine

    with ranker_installed(store.data_dir, args.ranker_from):
        engine = Engine(bench_settings(store.data_dir))
        try:
            rng = np.random.default_rng(args.seed)
            users = [str(u) for u in rng.choice(store.warm_users, args.users)]
            index, now = engine.index, time.time()
            queries = [q for u in users if (q := engine.feed_service.context(
                FeedRequest(user_id=u, surface=Surface.REELS, page_size=10), "bench-k", now).query) is not None]
            exact = [index.exact_search(q, max(ks))[0] for q in queries]
            rows: list[list[Any]] = []
            for k in ks:
                lat, rec, top100 = [], [], []
                for q, e in zip(queries, exact, strict=True):
                    t = time.perf_counter()
                    a, _ = index.search(q, k)
                    lat.append((time.perf_counter() - t) * 1000.0)
                    sa = set(a.tolist())
                    rec.append(len(sa & set(e[:k].tolist())) / max(min(k, len(e)), 1))
                    top100.append(len(sa & set(e[:100].tolist())) / max(min(100, len(e)), 1))
                rows.append([k, max(engine.settings.index.ef_search, k), pct(lat, 50), pct(lat, 99),
                             float(np.mean(rec)), pct(rec, 5), float(np.min(rec)), float(np.mean(top100))])
            print_table(f"1. search alone, {len(queries)} query vectors of warmed users (1 thread)",
                        ["k", "efSearch", "p50 ms", "p99 ms", "recall@k mean", "p5", "min", "exact top-100 found"],
                        rows)
            runner = FeedRunner(engine, "reels", 10)
            ann: Any = next(s for s in engine.feed_service.pipeline(runner.surface).sources if s.name == "ann")
            default_k = ann._k  # AnnSource's k (sources.ann_k); set per mode below, restored after
            modes = [ks[0], *ks]  # the reference twice: the noise floor
            pages: list[list[list[str]]] = [[] for _ in modes]
            lat_m: list[list[float]] = [[] for _ in modes]
            for u in users[:20]:
                runner.run(u)
            try:
                for u in users:
                    for i, k in enumerate(modes):
                        ann._k = k
                        ms, page, _ = runner.run(u)
                        pages[i].append([it["post_id"] for it in page.items])
                        lat_m[i].append(ms)
            finally:
                ann._k = default_k
            rows = []
            for i, k in enumerate(modes[1:], 1):
                ov = [len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(pages[0], pages[i], strict=True)]
                rows.append([f"{k}{' (again)' if i == 1 else ''}", pct(lat_m[i], 50), pct(lat_m[i], 99),
                             float(np.mean(ov)), pct(ov, 5)])
            print_table(f"2. feed requests, {len(users)} users, each user's requests back to back; page overlap "
                        f"with the first k={ks[0]} page of the same user",
                        ["k", "feed p50 ms", "feed p99 ms", "page overlap mean", "p5"], rows)
        finally:
            engine.close()
    print_footer()


if __name__ == "__main__":
    main()
