"""Server mode's figures: feeds from 2 serving processes (PostgreSQL + Redis) vs embedded (1 process),
event throughput through Redis Streams with 1 and 2 workers, and post created -> retrievable elsewhere.

  feed        the same generated world (hashing encoder) loaded through the API into (a) one embedded
              `reelrank serve` and (b) two server-mode `reelrank serve` processes (separate ports, the
              client spreads requests over both) + one `reelrank worker`; `--clients` threads each with
              its own keep-alive connection ask GET /v1/feed (explore, 10 items, random viewers) for
              `--seconds`: p50/p99 latency and requests/s. The client runs on the same machine.
  ingest      HTTP POST /v1/events through both serving processes (2 clients, 1,000-event bodies,
              `--ingest-runs` runs of `--ingest-events`): events/s median [min - max] and events per
              server CPU-second. Then the same ingest call in this process (an Engine on the cluster's
              schema and prefix) split into its steps per 1,000-event batch: PostgreSQL append_events,
              online apply (Redis), stream publish (XADD), with Redis's own CPU per 1,000 events.
  stream      workers stopped, `--events` events (batches of 1,000, valid ids) appended to the Redis
              stream, then 1 (then 2 fresh) `reelrank worker`s started: events / seconds from the
              moment the workers' consumers are attached (first pending drop) until both groups have
              applied and acknowledged everything.
  fresh       POST /v1/posts on process A by a creator the viewer follows -> the post is in a feed
              page of process B: seconds, median and max over `--trials`.

Local services (scripts/services) at REELRANK_TEST_DATABASE_URL / REELRANK_TEST_REDIS_URL or the
defaults; a schema and key prefix unique to the run, dropped afterwards. Figures only.

    .venv/bin/python bench/bench_server_mode.py [--posts 20000] [--seconds 15] [--clients 8]
    .venv/bin/python bench/bench_server_mode.py --parts ingest --posts 5000   # ingest figures only
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.server_mode.cluster import Cluster, free_port  # noqa: E402

from common import cpu_seconds, spread  # noqa: E402
from reelrank.domain import Event, EventKind  # noqa: E402
from reelrank.simulation.population import load_world  # noqa: E402
from reelrank.simulation.world import WorldConfig, generate_world  # noqa: E402
from reelrank.stream.event_codec import encode_events  # noqa: E402

PG = os.environ.get("REELRANK_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
RD = os.environ.get("REELRANK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def feed_load(urls: list[str], viewers: list[str], seconds: float, clients: int) -> dict[str, float]:
    lat: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def run(i: int) -> None:
        rng = np.random.default_rng(i)
        mine: list[float] = []
        with httpx.Client(base_url=urls[i % len(urls)], timeout=30) as c:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                r = c.get("/v1/feed", params={"user_id": viewers[rng.integers(len(viewers))], "surface": "explore"})
                mine.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    errors[0] += 1
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.monotonic() - t0
    a = np.asarray(lat)
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
            "req_s": len(a) / wall, "errors": errors[0]}


def _group_done(r: redis.Redis, key: str) -> bool:
    try:
        groups = r.xinfo_groups(key)
    except redis.ResponseError:
        return False
    names = {g["name"].decode() for g in groups}
    return {"features", "trends"} <= names and all(g["pending"] == 0 and g["lag"] == 0 for g in groups)


def stream_throughput(cluster: Cluster, n_workers: int, n_events: int, uids: list[int], pids: list[int]) -> float:
    from reelrank.state.stream.redis import RedisEventStream

    key = f"{cluster.prefix}:events"
    stream = RedisEventStream(cluster.redis_url, key)
    rng = np.random.default_rng(n_workers)
    now = time.time()
    payloads = []
    for b in range(n_events // 1000):
        items = [(Event(event_id=f"x{n_workers}-{b}-{i}", user_id="u", post_id="p", kind=EventKind.VIEW,
                        ts=now - rng.random() * 60, watch_ms=int(rng.integers(500, 15_000)), duration_ms=15_000),
                  int(uids[rng.integers(len(uids))]), int(pids[rng.integers(len(pids))])) for i in range(1000)]
        payloads.append(encode_events(items))
    stream.append(payloads)
    r = redis.Redis.from_url(cluster.redis_url)
    for _ in range(n_workers):
        cluster.start_worker()
    workers = cluster.procs[-n_workers:]
    # clock starts when the first entry is delivered (the workers have loaded their replicas)
    while True:
        groups = r.xinfo_groups(key)
        mine = [g for g in groups if g["name"] in (b"features", b"trends")]
        if any(g["pending"] or (g["lag"] or 0) < len(payloads) for g in mine):
            break
        time.sleep(0.005)
    t0 = time.monotonic()
    while not _group_done(r, key):
        time.sleep(0.005)
    took = time.monotonic() - t0
    for p in workers:
        p.terminate()
        p.wait()
        cluster.procs.remove(p)
    r.close()
    stream.close()
    return n_events / took


def http_ingest(cluster: Cluster, viewers: list[str], post_ids: list[str], n: int, seed: int) -> tuple[float, float]:
    """2 clients (one per serving process), 1,000-event bodies: (events/s, events per server CPU-second)."""
    urls = cluster.urls
    rng = np.random.default_rng(seed)
    tag = secrets.token_hex(3)
    bodies: list[list[dict[str, object]]] = [[], []]
    now = time.time()
    for i in range(2):
        for b in range(n // 1000 // 2):
            bodies[i].append({"events": [{
                "event_id": f"h{tag}-{i}-{b}-{k}", "user_id": viewers[rng.integers(len(viewers))],
                "post_id": post_ids[rng.integers(len(post_ids))], "kind": "view", "ts": now + b * 0.1 + k * 1e-4,
                "watch_ms": int(rng.integers(500, 15_000)), "duration_ms": 15_000} for k in range(1000)]})

    def run(i: int) -> None:
        with httpx.Client(base_url=urls[i % len(urls)], timeout=60) as c:
            for body in bodies[i]:
                c.post("/v1/events", json=body).raise_for_status()

    servers = [p.pid for p in cluster.procs[: len(urls)]]
    c0 = sum(cpu_seconds(pid) for pid in servers)
    t0 = time.monotonic()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.monotonic() - t0
    total = sum(len(b) for b in bodies) * 1000
    return total / took, total / max(sum(cpu_seconds(pid) for pid in servers) - c0, 1e-9)


def inprocess_ingest_split(cluster: Cluster, viewers: list[str], post_ids: list[str], batches: int) -> None:
    """EventWriter.ingest's steps, timed one by one in this process against the cluster's PostgreSQL and Redis."""
    from reelrank.config import Settings
    from reelrank.engine import Engine

    env = cluster.env()
    s = Settings(data_dir=cluster.data_dir.parent / "bench-inprocess", database_url=cluster.database_url,
                 redis_url=cluster.redis_url)
    s.backends.database_schema, s.backends.redis_prefix = cluster.schema, cluster.prefix
    s.encoder.kind = env["REELRANK_ENCODER__KIND"]  # type: ignore[assignment]
    s.index.snapshot_every_s = 0
    s.realtime.drain = "external"  # the cluster's worker consumes the stream, not this process
    engine = Engine(s)
    rd = redis.Redis.from_url(cluster.redis_url)

    def redis_cpu() -> float:
        info = rd.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    rng = np.random.default_rng(11)
    tag = secrets.token_hex(3)
    steps: dict[str, list[float]] = {"resolve ids": [], "PostgreSQL append_events": [],
                                     "online apply (Redis)": [], "publish (XADD)": []}
    try:
        w = engine.event_writer
        cpu0, r0, t_all = time.process_time(), redis_cpu(), 0.0
        for b in range(batches):
            now = time.time()
            events = [Event(event_id=f"i{tag}-{b}-{k}", user_id=viewers[rng.integers(len(viewers))],
                            post_id=post_ids[rng.integers(len(post_ids))], kind=EventKind.VIEW, ts=now + k * 1e-4,
                            watch_ms=int(rng.integers(500, 15_000)), duration_ms=15_000) for k in range(1000)]
            t0 = time.perf_counter()
            resolved = w._resolve(events)
            t1 = time.perf_counter()
            fresh = engine.records.append_events(events)
            t2 = time.perf_counter()
            new = [r for r, ok in zip(resolved, fresh, strict=True) if ok]
            w.apply(new)
            t3 = time.perf_counter()
            engine.realtime.publish(new)
            t4 = time.perf_counter()
            t_all += t4 - t0
            for k, v in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                steps[k].append(v * 1000)
        cpu, rcpu = time.process_time() - cpu0, redis_cpu() - r0
    finally:
        engine.close()
        rd.close()
    print(f"in-process server-mode ingest, {batches} batches of 1,000 views: {batches * 1000 / t_all:,.0f} ev/s, "
          f"{batches * 1000 / cpu:,.0f} events per CPU-second of this process; Redis CPU "
          f"{rcpu * 1000 / batches:.1f} ms per 1,000 events")
    for name, ms in steps.items():
        print(f"    {name:<28} median {np.median(ms):7.1f} ms  [{min(ms):.1f} - {max(ms):.1f}]")


def freshness(a: str, b: str, trials: int) -> list[float]:
    out = []
    with httpx.Client(base_url=a, timeout=30) as ca, httpx.Client(base_url=b, timeout=30) as cb:
        for _ in range(trials):
            tag = secrets.token_hex(3)
            users = [{"user_id": f"nc{tag}"}, {"user_id": f"nv{tag}"}]
            ca.post("/v1/users/batch", json={"users": users}).raise_for_status()
            ca.post(f"/v1/users/nv{tag}/follows/nc{tag}").raise_for_status()
            time.sleep(0.2)
            t0 = time.monotonic()
            ca.post("/v1/posts", json={"post_id": f"f{tag}", "creator_id": f"nc{tag}", "caption": "brand new",
                                       "created_at": time.time()}).raise_for_status()
            while time.monotonic() - t0 < 10:
                items = cb.get("/v1/feed", params={"user_id": f"nv{tag}", "surface": "explore"}).json()["items"]
                if f"f{tag}" in {i["post_id"] for i in items}:
                    out.append(time.monotonic() - t0)
                    break
                time.sleep(0.002)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=20_000)
    ap.add_argument("--users", type=int, default=2_000)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--ingest-events", type=int, default=40_000, help="HTTP events per ingest run")
    ap.add_argument("--ingest-runs", type=int, default=3)
    ap.add_argument("--parts", default="feed,fresh,ingest,stream", help="which figures (comma-separated)")
    args = ap.parse_args()
    parts = {x.strip() for x in args.parts.split(",") if x.strip()}
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores; parts: {', '.join(sorted(parts))}")
    world = generate_world(WorldConfig(n_users=args.users, n_creators=300, n_posts=args.posts, seed=5))
    viewers = [u.user_id for u in world.viewers]
    tmp = Path(tempfile.mkdtemp(prefix="bench-server-mode-"))
    token = secrets.token_hex(3)
    schema, prefix = f"rr_bench_{token}", f"rr-bench:{token}"

    if "feed" in parts:  # (a) embedded, one process
        embedded = embedded_feed(tmp, world, viewers, args)
        print(f"embedded, 1 process:   feed p50 {embedded['p50_ms']:.1f} ms  p99 {embedded['p99_ms']:.1f} ms  "
              f"{embedded['req_s']:.0f} req/s  ({embedded['errors']} errors)")

    # (b) server mode: 2 serving processes + 1 worker
    cl = Cluster(tmp / "server" / "data", PG, RD, schema, prefix)
    try:
        cl.start_server()
        cl.wait_ready()
        cl.start_server()
        cl.start_worker()
        cl.wait_ready()
        with httpx.Client(base_url=cl.urls[0], timeout=120) as c:
            load_world(c, world, progress=False, follows=True)
        while httpx.get(f"{cl.urls[1]}/healthz").json()["indexed"] < args.posts:
            time.sleep(0.2)
        if "feed" in parts:
            feed_load(cl.urls, viewers, 3, args.clients)
            server = feed_load(cl.urls, viewers, args.seconds, args.clients)
            print(f"server, 2 processes:   feed p50 {server['p50_ms']:.1f} ms  p99 {server['p99_ms']:.1f} ms  "
                  f"{server['req_s']:.0f} req/s  ({server['errors']} errors)")
        if "fresh" in parts:
            fresh = freshness(cl.urls[0], cl.urls[1], args.trials)
            print(f"post created on A -> in a feed page on B: median {np.median(fresh):.3f} s, "
                  f"max {max(fresh):.3f} s ({len(fresh)}/{args.trials} found within 10 s)")
        if "ingest" in parts:
            post_ids = [p.post_id for p in world.posts]
            http_ingest(cl, viewers, post_ids, 4_000, seed=0)  # warm-up
            runs = [http_ingest(cl, viewers, post_ids, args.ingest_events, seed=1 + i) for i in range(args.ingest_runs)]
            print(f"HTTP POST /v1/events over both processes (2 clients, 1,000/batch, {args.ingest_events:,} events "
                  f"per run, {len(runs)} runs): {spread([r[0] for r in runs])} ev/s; "
                  f"{spread([r[1] for r in runs])} events per server CPU-second")
            inprocess_ingest_split(cl, viewers, post_ids, batches=20)
        if "stream" in parts:
            stream_figures(cl, args.events)
    finally:
        cl.stop()
        import psycopg

        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        r = redis.Redis.from_url(RD)
        for k in r.scan_iter(f"{prefix}:*", count=1000):
            r.delete(k)
        r.close()


def embedded_feed(tmp: Path, world: Any, viewers: list[str], args: argparse.Namespace) -> dict[str, float]:
    import subprocess

    emb = Cluster(tmp / "embedded" / "data", "", "", "", "")
    env = emb.env()
    for k in ("REELRANK_DATABASE_URL", "REELRANK_REDIS_URL"):
        env.pop(k)
    port = free_port()
    log = open(tmp / "embedded.log", "wb")  # noqa: SIM115
    emb.data_dir.mkdir(parents=True)
    p = subprocess.Popen([sys.executable, "-m", "reelrank.cli", "serve", "--port", str(port)], env=env,
                         stdout=log, stderr=subprocess.STDOUT)
    emb.procs.append(p)
    emb.urls.append(f"http://127.0.0.1:{port}")
    try:
        emb.wait_ready()
        with httpx.Client(base_url=emb.urls[0], timeout=120) as c:
            load_world(c, world, progress=False, follows=True)
        feed_load(emb.urls, viewers, 3, args.clients)  # warm-up
        return feed_load(emb.urls, viewers, args.seconds, args.clients)
    finally:
        emb.stop()


def stream_figures(cl: Cluster, n_events: int) -> None:
    """Stop the worker, then 1 and 2 fresh workers drain a prepared backlog."""
    w = cl.procs.pop()
    w.terminate()
    w.wait()
    from reelrank.state.records.postgres import PostgresRecordStore

    rs = PostgresRecordStore(PG, schema=cl.schema)
    uids = [u.uid for b in rs.scan_users() for u in b]
    pids = [p.pid for b in rs.scan_posts() for p in b]
    rs.close()
    for n in (1, 2):
        eps = stream_throughput(cl, n, n_events, uids, pids)
        print(f"Redis Streams, {n} worker(s): {eps:,.0f} events/s applied by both groups "
              f"({n_events:,} events in batches of 1,000)")


if __name__ == "__main__":
    main()
