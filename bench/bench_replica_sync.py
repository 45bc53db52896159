"""What keeping server-mode replicas exact costs (index/replica_sync.py).

1. Start-up: folding stored events into popularity while remembering each one's key (so the stream
   follower does not fold it again), against folding alone; interleaved runs, in-process.
2. Re-sync after a Redis outage: `resync_from_records` over a record store of --posts posts, into an
   empty replica (what a start-up load costs) and into one already in sync (an outage with few changes).
   PostgreSQL with --database-url (a scratch schema, dropped after), else a temporary SQLite store.

    .venv/bin/python bench/bench_replica_sync.py [--events 200000] [--posts 20000] [--runs 5]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_footer, print_header, print_table, spread
from reelrank.config import IndexSettings, Settings
from reelrank.domain import Event, EventKind, Post, User
from reelrank.features.popularity import PopularityFeatures
from reelrank.index.ann_index import AnnIndex
from reelrank.index.replica_sync import ReplayedPopularity, popularity_items, resync_from_records
from reelrank.state.accounts import AccountDirectory, SocialGraph
from reelrank.state.catalogue import Catalogue
from reelrank.state.factory import open_records

DIM = 64


def startup_fold(n: int, runs: int) -> list[list[Any]]:
    accounts = AccountDirectory()
    for u in range(1, 1001):
        accounts.upsert(u, User(user_id=f"u{u}"))
    kinds = (EventKind.LIKE, EventKind.VIEW, EventKind.SHARE, EventKind.SKIP)
    resolved = [(Event(event_id=f"e{i}", user_id=f"u{1 + i % 1000}", post_id=f"p{i % 5000}", kind=kinds[i % 4],
                       ts=1.7e9 + i * 0.01, watch_ms=3000, duration_ms=10_000), 1 + i % 1000, 1 + i % 5000)
                for i in range(n)]
    batches = [resolved[i : i + 50_000] for i in range(0, n, 50_000)]
    alone, keyed = [], []
    for _ in range(runs):  # interleaved: both see the same machine load
        pop = PopularityFeatures(t0=1.7e9)
        t = time.perf_counter()
        for b in batches:
            pop.add(popularity_items(b, accounts))
        alone.append(time.perf_counter() - t)
        replayed = ReplayedPopularity(PopularityFeatures(t0=1.7e9), accounts)
        t = time.perf_counter()
        for b in batches:
            replayed.add(b)
        replayed.seal()
        keyed.append(time.perf_counter() - t)
    ratio = float(np.median(keyed) / np.median(alone))
    return [["popularity only", spread(alone), "", ""],
            ["popularity + keys", spread(keyed), f"{ratio:.2f}x", f"{len(replayed) * 8 / 2**20:.1f} MiB"]]


def resync(posts: int, runs: int, database_url: str | None) -> list[list[Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        s = Settings(data_dir=Path(tmp))
        if database_url:
            s.database_url = database_url
            s.backends.database_schema = f"bench_resync_{secrets.token_hex(4)}"
        records = open_records(s)
        try:
            n_users = max(posts // 20, 10)
            records.upsert_users([User(user_id=f"c{i}") for i in range(n_users)])
            rng = np.random.default_rng(0)
            for i in range(0, posts, 5000):
                chunk = [Post(post_id=f"p{j}", creator_id=f"c{j % n_users}", caption=f"post {j}")
                         for j in range(i, min(posts, i + 5000))]
                vecs = rng.standard_normal((len(chunk), DIM)).astype(np.float32)
                records.upsert_posts(chunk, vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
            cold, warm = [], []
            for _ in range(runs):
                cat, acc, graph = Catalogue(), AccountDirectory(), SocialGraph()
                index = AnnIndex(DIM, IndexSettings())
                t = time.perf_counter()
                resync_from_records(records, cat, acc, graph, index)
                cold.append(time.perf_counter() - t)
                t = time.perf_counter()
                resync_from_records(records, cat, acc, graph, index)
                warm.append(time.perf_counter() - t)
        finally:
            records.close()
            if database_url:
                import psycopg
                from psycopg import sql

                with psycopg.connect(database_url, autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(s.backends.database_schema)))
    store = "PostgreSQL" if database_url else "SQLite"
    return [[f"{store}, {posts:,} posts: into an empty replica", spread(cold)],
            [f"{store}, {posts:,} posts: into a replica in sync", spread(warm)]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--posts", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database-url", default=None)
    a = ap.parse_args()
    print_header("replica sync costs", [f"{a.runs} runs each; seconds as median [min - max]"])
    print_table(f"start-up: fold {a.events:,} stored events into popularity",
                ["", "seconds", "ratio", "keys held"], startup_fold(a.events, a.runs))
    print_table("re-sync from the record store (users, posts + vectors, edges)", ["", "seconds"],
                resync(a.posts, a.runs, a.database_url))
    print_footer()


if __name__ == "__main__":
    main()
