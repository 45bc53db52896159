"""Throughput of `SqliteRecordStore.append_events` with the batch size ingestion uses (1,000).

Why: event ingestion is the record store's hot path; the goal is well above 50,000 events/s on a
2-core machine. Events are built before the clock starts, so the figure is the store's cost
(pydantic attribute reads, duplicate check, insert, commit), not the cost of validating input.
Each run uses a fresh database in a temporary directory; a share of each batch repeats ids from
the previous batch to exercise the duplicate path as client retries would.

Throughput falls as the tables grow (random-key index inserts dirty about one page per event), so
`--preload N` first appends N events untimed, and `--ids uuid` uses random ids as real clients send.

    .venv/bin/python bench/bench_records.py [--runs 5] [--batches 100] [--batch-size 1000] [--dup 0.02]
        [--ids seq|uuid] [--preload 0]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from reelrank.domain import Event, EventKind, Surface
from reelrank.state.records.sqlite import SqliteRecordStore

KINDS = (EventKind.IMPRESSION, EventKind.VIEW, EventKind.LIKE, EventKind.SKIP)


def make_batches(n_batches: int, size: int, dup: float, ids: str = "seq", start: int = 0) -> list[list[Event]]:
    """n_batches of `size` events; about `dup` of each batch re-sends ids of the batch before."""
    batches: list[list[Event]] = []
    n_dup = int(size * dup)
    seq = start
    for b in range(n_batches):
        batch: list[Event] = []
        for i in range(size - (n_dup if b else 0)):
            kind = KINDS[seq % len(KINDS)]
            batch.append(
                Event(
                    event_id=uuid.uuid4().hex if ids == "uuid" else f"ev-{seq}",
                    user_id=f"user-{seq % 10_000}",
                    post_id=f"post-{(seq * 7919) % 1_000_000}",
                    kind=kind,
                    ts=1_700_000_000.0 + seq * 0.001,
                    watch_ms=4_000 if kind is EventKind.VIEW else None,
                    duration_ms=15_000,
                    surface=Surface.REELS,
                    request_id=f"req-{seq // 10}",
                    position=i % 10,
                )
            )
            seq += 1
        if b:
            batch.extend(batches[-1][:n_dup])
        batches.append(batch)
    return batches


def run_once(batches: list[list[Event]], preload: list[list[Event]]) -> tuple[float, int]:
    """Append `preload` untimed, then every batch timed, into a fresh store; return (events/s, events stored)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteRecordStore(Path(tmp) / "bench.db")
        try:
            for batch in preload:
                store.append_events(batch)
            total = sum(len(b) for b in batches)
            start = time.perf_counter()
            for batch in batches:
                store.append_events(batch)
            elapsed = time.perf_counter() - start
            return total / elapsed, store.count_events()
        finally:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--dup", type=float, default=0.02, help="share of each batch that repeats earlier ids")
    parser.add_argument("--ids", choices=("seq", "uuid"), default="seq", help="sequential or random event ids")
    parser.add_argument("--preload", type=int, default=0, help="events appended untimed before measuring")
    args = parser.parse_args()

    n_pre = -(-args.preload // args.batch_size)
    preload = make_batches(n_pre, args.batch_size, 0.0, args.ids, start=10**12)
    batches = make_batches(args.batches, args.batch_size, args.dup, args.ids)
    run_once(batches[:5], [])  # warm-up: imports, page cache, statement cache
    rates = []
    for _ in range(args.runs):
        rate, stored = run_once(batches, preload)
        rates.append(rate)
    total = sum(len(b) for b in batches)
    print(
        f"append_events: {args.runs} runs x {args.batches} batches x {args.batch_size} events, ids={args.ids}, "
        f"preload={n_pre * args.batch_size:,} ({total:,} sent, {stored - n_pre * args.batch_size:,} new per run)"
    )
    print(
        f"events/s: median {statistics.median(rates):,.0f}  min {min(rates):,.0f}  max {max(rates):,.0f}  "
        f"stdev {statistics.stdev(rates) if len(rates) > 1 else 0.0:,.0f}"
    )


if __name__ == "__main__":
    main()
