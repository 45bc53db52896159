"""Server-mode backends side by side: event appends SQLite vs PostgreSQL, and Redis Streams throughput.

1. `append_events` with 1,000-event batches into a fresh SQLite file and a fresh PostgreSQL schema,
   runs interleaved (sqlite, postgres, sqlite, ...) so machine noise hits both alike; PostgreSQL
   also with two writer threads at once (SQLite serialises writers, PostgreSQL does not). Events are
   built before the clock starts (the figure is the store's cost, not validation), with random
   (uuid) ids as real clients send and 2% of each batch re-sending ids of the batch before.
2. Redis Streams through `RedisEventStream`: a producer XADDs (pipelined, MAXLEN ~) while one or
   two consumer *processes* XREADGROUP (count 500) and XACK; the clock runs from the first append to
   the last ack. Two payload sizes: one event per entry (~200 B) and one entry per accepted
   1,000-event batch as stream/event_codec.py packs it (29 B per event, ~29 KB).

Each figure is the median of --runs runs with min/max; on a shared 2-core machine the producer,
the consumers and the servers compete for the same cores, so compare ratios within one run.

    .venv/bin/python bench/bench_backends.py [--runs 5] [--batches 50] [--entries 50000]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]
        [--skip-records] [--skip-streams]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_records import make_batches  # sibling script: the same event batches
from common import print_header, print_table
from reelrank.domain import Event
from reelrank.state.records.base import RecordStore
from reelrank.state.records.sqlite import SqliteRecordStore

BATCH = 1_000
CONSUMER_COUNT = 500


def spread(values: Sequence[float]) -> list[str]:
    return [f"{statistics.median(values):,.0f}", f"{min(values):,.0f}", f"{max(values):,.0f}",
            f"{statistics.stdev(values) if len(values) > 1 else 0.0:,.0f}"]  # fmt: skip


# -- 1. record stores --------------------------------------------------------------------------------
def timed_appends(store: RecordStore, batches: list[list[Event]], preload: list[list[Event]],
                  writers: int = 1) -> float:
    """events/s appending `batches`; with writers > 1, threads append interleaved shares at once (as
    several ingest processes would: psycopg releases the GIL while the server works)."""
    for b in preload:
        store.append_events(b)
    threads = [threading.Thread(target=lambda w=w: [store.append_events(b) for b in batches[w::writers]])
               for w in range(writers)]  # fmt: skip
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def run_sqlite(batches: list[list[Event]], preload: list[list[Event]]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteRecordStore(Path(tmp) / "bench.db")
        try:
            return timed_appends(store, batches, preload)
        finally:
            store.close()


def run_postgres(url: str, batches: list[list[Event]], preload: list[list[Event]], writers: int = 1) -> float:
    import psycopg

    from reelrank.state.records.postgres import PostgresRecordStore

    schema = f"rr_bench_{os.getpid()}_{secrets.token_hex(3)}"
    store = PostgresRecordStore(url, schema=schema, pool_size=writers + 1)
    try:
        return timed_appends(store, batches, preload, writers)
    finally:
        store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def bench_records(args: argparse.Namespace) -> None:
    preload = make_batches(-(-args.preload // BATCH), BATCH, 0.0, "uuid", start=10**12)
    batches = make_batches(args.batches, BATCH, 0.02, "uuid")
    run_sqlite(batches[:3], [])  # warm-up: imports, statement caches
    run_postgres(args.database_url, batches[:3], [])
    rates: dict[str, list[float]] = {"sqlite": [], "postgres": [], "postgres, 2 writers": []}
    for _ in range(args.runs):
        rates["sqlite"].append(run_sqlite(batches, preload))
        rates["postgres"].append(run_postgres(args.database_url, batches, preload))
        rates["postgres, 2 writers"].append(run_postgres(args.database_url, batches, preload, writers=2))
    rows = [[name, *spread(r)] for name, r in rates.items()]
    ratio = [p / s for p, s in zip(rates["postgres"], rates["sqlite"], strict=True)]
    print_table(
        f"append_events, {args.batches} batches x {BATCH} events per run, uuid ids, 2% re-sent, "
        f"preload {len(preload) * BATCH:,} (events/s)",
        ["store", "median", "min", "max", "stdev"], rows,
    )  # fmt: skip
    print(f"postgres / sqlite, per interleaved run: median {statistics.median(ratio):.2f} "
          f"(min {min(ratio):.2f}, max {max(ratio):.2f})")  # fmt: skip


# -- 2. Redis Streams --------------------------------------------------------------------------------
def consume(url: str, key: str, group: str, name: str, ready: Callable[[], Any], acked: Any, stop: Any) -> None:
    """A consumer process: read, ack, count, until told to stop and nothing is left."""
    from reelrank.state.stream.redis import RedisEventStream

    stream = RedisEventStream(url, key, maxlen=10**9)
    ready()
    while True:
        got = stream.read(group, name, CONSUMER_COUNT, block_ms=50)
        if got:
            stream.ack(group, [e.entry_id for e in got])
            with acked.get_lock():
                acked.value += len(got)
        elif stop.is_set():
            break
    stream.close()


def stream_run(url: str, entries: int, payload: bytes, consumers: int, per_append: int,
               prefill: bool) -> tuple[float, float]:  # fmt: skip
    """One run on a fresh stream key: (entries/s through read + ack, XADD-only entries/s).

    prefill=False: consumers run while the producer appends; the clock runs from the first XADD to
    the last XACK (the pipeline's throughput). prefill=True: everything is appended first, then the
    consumers drain it (what consumers alone sustain, e.g. catching up after a restart)."""
    from reelrank.state.stream.redis import RedisEventStream

    key = f"rr-bench:{os.getpid()}:{secrets.token_hex(3)}"
    stream = RedisEventStream(url, key, maxlen=entries * 2)  # nothing trimmed before it is read
    stream.ensure_group("bench")
    ctx = mp.get_context("fork")
    acked, stop = ctx.Value("q", 0), ctx.Event()
    barrier = ctx.Barrier(consumers + 1)
    procs = [ctx.Process(target=consume, args=(url, key, "bench", f"c{i}", barrier.wait, acked, stop))
             for i in range(consumers)]  # fmt: skip
    for p in procs:
        p.start()

    def produce() -> float:
        t = time.perf_counter()
        for i in range(0, entries, per_append):
            stream.append([payload] * min(per_append, entries - i))
        return time.perf_counter() - t

    try:
        produced = produce() if prefill else 0.0
        barrier.wait()  # consumers are connected and start reading now
        start = time.perf_counter()
        if not prefill:
            produced = produce()
        while acked.value < entries:
            time.sleep(0.001)
        total = time.perf_counter() - start
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=30)
        stream.delete()
        stream.close()
    return entries / total, entries / produced


def bench_streams(args: argparse.Namespace) -> None:
    from reelrank.stream.event_codec import EVENT_DTYPE

    batch_bytes = EVENT_DTYPE.itemsize * BATCH
    # (label, payload, entries per run, entries per append call)
    shapes = [
        ("1 event per entry", os.urandom(200), args.entries, BATCH),
        (f"1 batch of {BATCH} events per entry (stream/event_codec.py)", os.urandom(batch_bytes),
         max(args.entries // 25, 100), 10),
    ]  # fmt: skip
    for label, payload, n, per_append in shapes:
        stream_run(args.redis_url, min(n, 2_000), payload, 1, per_append, prefill=False)  # warm-up
        rows = []
        for prefill in (False, True):
            for consumers in (1, 2):
                rates, xadd = [], []
                for _ in range(args.runs):
                    r, x = stream_run(args.redis_url, n, payload, consumers, per_append, prefill)
                    rates.append(r)
                    xadd.append(x)
                mib = statistics.median(rates) * len(payload) / 2**20
                mode = "drain a filled stream" if prefill else "XADD+XREADGROUP+XACK"
                rows.append([mode, consumers, *spread(rates), f"{mib:,.1f}", f"{statistics.median(xadd):,.0f}"])
        print_table(
            f"Redis Streams, {label}: {len(payload):,} B payload, {n:,} entries per run, append() of "
            f"{per_append} (XADD MAXLEN ~), XREADGROUP count {CONSUMER_COUNT} + XACK per read (entries/s)",
            ["mode", "consumers", "median", "min", "max", "stdev", "MiB/s", "XADD-only median"], rows,
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batches", type=int, default=50, help="1,000-event batches per record-store run")
    parser.add_argument("--preload", type=int, default=0, help="events appended untimed before each run")
    parser.add_argument("--entries", type=int, default=50_000, help="stream entries per run (1 event each)")
    parser.add_argument("--database-url", default=os.environ.get("REELRANK_BENCH_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis-url", default=os.environ.get("REELRANK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--skip-records", action="store_true")
    parser.add_argument("--skip-streams", action="store_true")
    args = parser.parse_args()
    print_header("server-mode backends", [
        "PostgreSQL and Redis are local servers on the same cores as this program (defaults: fsync and "
        "synchronous_commit on; Redis without persistence)",
    ])  # fmt: skip
    if not args.skip_records:
        bench_records(args)
    if not args.skip_streams:
        bench_streams(args)


if __name__ == "__main__":
    main()
