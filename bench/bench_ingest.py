"""Event ingest rate, over HTTP (POST /v1/events) and in-process (engine.event_writer.ingest), and how soon
an accepted event is visible in online features.

Runs against a throw-away copy of the cached benchmark catalogue (100k posts by default, see
bench/common.py), so the millions of events written here never pollute the catalogue bench_feed.py
reads. Events are a realistic mix (impressions, views with watch_ms/duration_ms, likes, skips,
saves, shares) of the catalogue's 10,000 viewers on random posts, built and serialised before the
clock starts: the figures are the engine's cost (HTTP, JSON validation, SQLite append with the
duplicate check, online feature updates), not the cost of making events.

  HTTP:        batches of 500 and 1,000, 1 and 2 concurrent clients (threads, one keep-alive
               connection each), several runs each: events/s median [min - max], request p50/p99.
  in-process:  ingest() of pre-built Event objects; validating the JSON body + ingest() (the server's
               work without HTTP); and a per-step split (validate, SQLite append, online apply).
  visibility:  time from sending a like to the user's seen set and interest vector reflecting it
               (ingest returns after online features are updated), alone and at the end of a batch.

Goal stated in the issue: >= 20,000 events/s. Figures only: nothing here asserts a time.

    .venv/bin/python bench/bench_ingest.py [--posts 100000] [--runs 5] [--batch-sizes 500,1000] [--clients 1,2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    DEFAULT_ROOT,
    BenchStore,
    bench_settings,
    cpu_seconds,
    ensure_store,
    pct,
    print_footer,
    print_header,
    print_table,
    scratch_copy,
    served,
    spread,
)

GOAL = 20_000  # events/s, from the issue
KINDS = ("impression", "view", "like", "skip", "save", "share")
KIND_P = (0.40, 0.35, 0.12, 0.09, 0.02, 0.02)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--posts", type=int, default=100_000, help="catalogue size (cached per size)")
    p.add_argument("--runs", type=int, default=5, help="runs per configuration (median and spread over runs)")
    p.add_argument("--events-per-run", type=int, default=20_000, help="events each client sends per run")
    p.add_argument("--batch-sizes", default="500,1000")
    p.add_argument("--clients", default="1,2", help="concurrent HTTP clients")
    p.add_argument("--visibility-samples", type=int, default=300)
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--keep-scratch", action="store_true", help="keep the scratch copy of the store")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--skip-inprocess", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


class EventFactory:
    """Realistic event dicts with unique ids, for the catalogue's viewers and posts."""

    def __init__(self, store: BenchStore, seed: int) -> None:
        self.users = store.viewer_ids
        self.n_posts = store.n_posts
        self.rng = np.random.default_rng([seed, int(time.time())])
        self.tag = f"ing{os.getpid()}x{int(time.time())}"
        self.seq = 0

    def dicts(self, n: int) -> list[dict[str, Any]]:
        rng = self.rng
        users = rng.integers(0, len(self.users), n).tolist()
        posts = rng.integers(0, self.n_posts, n).tolist()
        kinds = rng.choice(len(KINDS), n, p=KIND_P).tolist()
        dur = rng.integers(5_000, 60_000, n).tolist()
        ratio = rng.beta(2.0, 2.0, n).tolist()
        now = time.time()
        out = []
        for i in range(n):
            kind = KINDS[kinds[i]]
            e: dict[str, Any] = {"event_id": f"{self.tag}-{self.seq}", "user_id": self.users[users[i]],
                                 "post_id": f"post_{posts[i]:07d}", "kind": kind, "ts": now - (n - i) * 1e-4,
                                 "surface": "reels", "request_id": f"r{self.seq // 10}", "position": self.seq % 10}
            if kind == "view":
                e["watch_ms"] = int(ratio[i] * dur[i])
                e["duration_ms"] = dur[i]
            out.append(e)
            self.seq += 1
        return out

    def batches(self, n_events: int, size: int) -> list[list[dict[str, Any]]]:
        evs = self.dicts(n_events)
        return [evs[i : i + size] for i in range(0, len(evs), size)]


# -- HTTP -------------------------------------------------------------------------------------------
def http_run(base_url: str, bodies: list[list[bytes]]) -> tuple[float, list[float], int]:
    """Each client (thread, one keep-alive connection) posts its bodies in order; returns (seconds,
    request latencies in ms, events accepted)."""
    import httpx

    lat: list[list[float]] = [[] for _ in bodies]
    accepted = [0] * len(bodies)
    errors: list[str] = []
    barrier = threading.Barrier(len(bodies) + 1)

    def client(i: int) -> None:
        with httpx.Client(base_url=base_url, timeout=120.0,
                          limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)) as c:
            c.get("/healthz")
            barrier.wait()
            for body in bodies[i]:
                t = time.perf_counter()
                r = c.post("/v1/events", content=body, headers={"content-type": "application/json"})
                lat[i].append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    errors.append(f"{r.status_code}: {r.text[:200]}")
                    return
                accepted[i] += r.json()["accepted"]

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(bodies))]
    for th in threads:
        th.start()
    barrier.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"POST /v1/events failed: {errors[0]}")
    return elapsed, [x for v in lat for x in v], sum(accepted)


def http_ingest(data_dir: Path, gen: EventFactory, args: argparse.Namespace) -> None:
    import httpx

    sizes = [int(x) for x in args.batch_sizes.split(",") if x.strip()]
    clients = [int(x) for x in args.clients.split(",") if x.strip()]
    with served(data_dir) as srv:
        warm = [[orjson.dumps({"events": b}) for b in gen.batches(5_000, 500)]]
        http_run(srv.base_url, warm)  # warm-up, not reported
        rows = []
        for size in sizes:
            for n_clients in clients:
                rates, lats, cores, client_cores, per_cpu = [], [], [], [], []
                for _ in range(args.runs):
                    bodies = [[orjson.dumps({"events": b}) for b in gen.batches(args.events_per_run, size)]
                              for _ in range(n_clients)]
                    r0, c0 = resource.getrusage(resource.RUSAGE_SELF), cpu_seconds(srv.proc.pid)
                    secs, lat, accepted = http_run(srv.base_url, bodies)
                    r1, c1 = resource.getrusage(resource.RUSAGE_SELF), cpu_seconds(srv.proc.pid)
                    rates.append(accepted / secs)
                    lats.extend(lat)
                    cores.append((c1 - c0) / secs)
                    per_cpu.append(accepted / max(c1 - c0, 1e-9))
                    client_cores.append(((r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)) / secs)
                rows.append([size, n_clients, args.runs, spread(rates), pct(lats, 50), pct(lats, 99),
                             float(np.median(cores)), float(np.median(per_cpu)), float(np.median(client_cores)),
                             "yes" if np.median(rates) >= GOAL else "no"])
        print_table(f"HTTP POST /v1/events on `reelrank serve` (one uvicorn process): {args.events_per_run:,} "
                    f"events per client per run; events/s = accepted events / wall time of the run; "
                    f"'cores' = CPU seconds per wall second (server and client share 2 cores)",
                    ["batch", "clients", "runs", "events/s median [min - max]", "request p50 ms", "request p99 ms",
                     "server cores", "events per server CPU-s", "client cores", f">= {GOAL:,}/s"], rows)

        # A single like per request: what an app sending events one by one sees.
        lat = []
        with httpx.Client(base_url=srv.base_url, timeout=30.0) as c:
            for _ in range(args.visibility_samples):
                e = gen.dicts(1)[0]
                e.update(kind="like")
                e.pop("watch_ms", None)
                e.pop("duration_ms", None)
                body = orjson.dumps({"events": [e]})
                t = time.perf_counter()
                r = c.post("/v1/events", content=body, headers={"content-type": "application/json"})
                lat.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
        print_table("HTTP: one like per POST /v1/events; the response comes after online features are updated, "
                    "so this is accepted-event -> visible as the client sees it",
                    ["requests", "p50 ms", "p99 ms", "max ms"],
                    [[len(lat), pct(lat, 50), pct(lat, 99), max(lat)]])


# -- in-process ---------------------------------------------------------------------------------------
def timed_runs(fn: Callable[[], int], runs: int, per_cpu: list[float] | None = None) -> list[float]:
    """events/s of each run; events per CPU-second of this process appended to `per_cpu`."""
    rates = []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        n = fn()
        rates.append(n / (time.perf_counter() - t))
        if per_cpu is not None:
            per_cpu.append(n / max(time.process_time() - c, 1e-9))
    return rates


def inprocess_ingest(data_dir: Path, gen: EventFactory, args: argparse.Namespace) -> None:
    from reelrank.domain import Event
    from reelrank.engine import Engine
    from reelrank.serving.schemas import EventsBatch

    sizes = [int(x) for x in args.batch_sizes.split(",") if x.strip()]
    t = time.perf_counter()
    engine = Engine(bench_settings(data_dir))
    print(f"\nin-process engine opened in {time.perf_counter() - t:.1f}s ({len(engine.catalogue):,} posts)", flush=True)
    try:
        writer = engine.event_writer
        for b in gen.batches(5_000, 1_000):  # warm-up
            writer.ingest([Event.model_validate(e) for e in b])
        rows = []
        for size in sizes:
            # ingest() of pre-built Event objects (the engine's cost), then the JSON body validated first
            rates_obj: list[float] = []
            rates_json: list[float] = []
            cpu_obj: list[float] = []
            cpu_json: list[float] = []
            for _ in range(args.runs):
                batches = [[Event.model_validate(e) for e in b] for b in gen.batches(args.events_per_run, size)]

                def ingest_objects(batches: list[list[Event]] = batches) -> int:
                    return sum(writer.ingest(b).accepted for b in batches)

                rates_obj += timed_runs(ingest_objects, 1, cpu_obj)
                bodies = [orjson.dumps({"events": b}) for b in gen.batches(args.events_per_run, size)]

                def ingest_json(bodies: list[bytes] = bodies) -> int:
                    return sum(writer.ingest(EventsBatch.model_validate_json(x).events).accepted for x in bodies)

                rates_json += timed_runs(ingest_json, 1, cpu_json)
            rows.append([size, "ingest(pre-built Event objects)", args.runs, spread(rates_obj),
                         float(np.median(cpu_obj)), "yes" if np.median(rates_obj) >= GOAL else "no"])
            rows.append([size, "validate JSON body + ingest (server work minus HTTP)", args.runs, spread(rates_json),
                         float(np.median(cpu_json)), "yes" if np.median(rates_json) >= GOAL else "no"])
        print_table(f"in-process engine.event_writer.ingest, {args.events_per_run:,} events per run, one thread",
                    ["batch", "path", "runs", "events/s median [min - max]", "events per CPU-s", f">= {GOAL:,}/s"],
                    rows)
        split_steps(engine, gen, args)
        visibility(engine, gen, args)
    finally:
        engine.close()


def split_steps(engine: Any, gen: EventFactory, args: argparse.Namespace) -> None:
    """Where one batch of 1,000 goes: JSON validation, SQLite append (duplicate check + insert), online apply."""
    from reelrank.serving.schemas import EventsBatch

    steps: dict[str, list[float]] = {"validate JSON (pydantic)": [], "resolve ids": [], "SQLite append_events": [],
                                     "online apply (seen, interest, affinity, popularity)": []}
    uid_of, pid_of = engine.accounts.uid_of, engine.catalogue.pid_of
    for body in [orjson.dumps({"events": b}) for b in gen.batches(max(args.events_per_run, 20_000), 1_000)]:
        t0 = time.perf_counter()
        events = EventsBatch.model_validate_json(body).events
        t1 = time.perf_counter()
        resolved = [(e, uid_of[e.user_id], pid_of[e.post_id] if e.post_id else 0) for e in events]
        t2 = time.perf_counter()
        fresh = engine.records.append_events(events)
        t3 = time.perf_counter()
        engine.event_writer.apply([r for r, ok in zip(resolved, fresh, strict=True) if ok])
        t4 = time.perf_counter()
        for k, v in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            steps[k].append(v * 1000)
    total = sum(float(np.median(v)) for v in steps.values())
    rows = [[k, float(np.median(v)), pct(v, 99), f"{100 * float(np.median(v)) / total:.0f}%",
             1000 / float(np.median(v)) * 1000] for k, v in steps.items()]
    rows.append(["sum", total, "", "100%", 1000 / total * 1000])
    print_table(f"in-process split of one 1,000-event batch ({len(steps['resolve ids'])} batches), the same steps "
                "ingest() runs", ["step", "median ms", "p99 ms", "share", "events/s if only this step"], rows)


def visibility(engine: Any, gen: EventFactory, args: argparse.Namespace) -> None:
    """Send a like; poll the user's seen set and interest vector until both reflect it."""
    from reelrank.domain import Event

    rng = np.random.default_rng([args.seed, 99])
    cases = {"like alone (batch of 1)": 0, "like last in a batch of 1,000": 999}  # label -> events before it
    results: dict[str, list[float]] = {k: [] for k in cases}
    immediate = dict.fromkeys(results, 0)
    for label, n_before in cases.items():
        for _ in range(args.visibility_samples if not n_before else max(20, args.visibility_samples // 10)):
            user_id = gen.users[int(rng.integers(len(gen.users)))]
            uid = engine.accounts.uid_of[user_id]
            post_id = f"post_{int(rng.integers(gen.n_posts)):07d}"
            pid = engine.catalogue.pid_of[post_id]
            before = engine.interest.long_term(uid)
            like = gen.dicts(1)[0]
            like.update(kind="like", user_id=user_id, post_id=post_id, ts=time.time())
            like.pop("watch_ms", None)
            like.pop("duration_ms", None)
            batch = [Event.model_validate(e) for e in gen.dicts(n_before)] if n_before else []
            batch.append(Event.model_validate(like))
            t0 = time.perf_counter()
            engine.event_writer.ingest(batch)
            polls = 0
            while True:
                polls += 1
                seen = pid in set(engine.seen.seen(uid, time.time()).tolist())
                after = engine.interest.long_term(uid)
                moved = after is not None and (before is None or not np.array_equal(after, before))
                if seen and moved:
                    break
                if time.perf_counter() - t0 > 5.0:
                    break
            results[label].append((time.perf_counter() - t0) * 1000)
            immediate[label] += polls == 1
    print_table("in-process accepted-event -> feature visible: from calling ingest() with a like until the user's "
                "seen set holds the post and the interest vector has moved",
                ["case", "samples", "visible on first check", "p50 ms", "p99 ms", "max ms"],
                [[k, len(v), f"{immediate[k]}/{len(v)}", pct(v, 50), pct(v, 99), max(v)] for k, v in results.items()])


def main() -> None:
    args = parse_args()
    print_header(f"reelrank event ingest benchmark, {args.posts:,}-post catalogue",
                 notes=["2-core machine: HTTP clients run in this process and compete with the server for CPU "
                        "(see the 'cores' columns); other sessions may share the machine",
                        f"goal stated in the issue: >= {GOAL:,} events/s"])
    store = ensure_store(args.posts, root=args.root, seed=args.seed)
    print_table("catalogue", ["", ""], store.describe(), header=False)
    t = time.perf_counter()
    scratch = scratch_copy(store, "ingest")
    print(f"scratch copy of the store: {scratch} ({time.perf_counter() - t:.1f}s); removed at the end", flush=True)
    gen = EventFactory(store, args.seed)
    try:
        if not args.skip_http:
            http_ingest(scratch, gen, args)
        if not args.skip_inprocess:
            inprocess_ingest(scratch, gen, args)
    finally:
        if not args.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print_footer()


if __name__ == "__main__":
    main()
