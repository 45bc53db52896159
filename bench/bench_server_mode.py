"""Server mode's figures: feeds from 2 serving processes (PostgreSQL + Redis) vs embedded (1 process),
event throughput through Redis Streams with 1 and 2 workers, and post created -> retrievable elsewhere.

  feed        the same generated world (hashing encoder) loaded through the API into (a) one embedded
              `reelrank serve` and (b) two server-mode `reelrank serve` processes (separate ports, the
              client spreads requests over both) + one `reelrank worker`; `--clients` threads each with
              its own keep-alive connection ask GET /v1/feed (explore, 10 items, random viewers) for
              `--seconds`: p50/p99 latency and requests/s. The client runs on the same machine.
  ingest      workers stopped, `--events` events (batches of 1,000, valid ids) appended to the Redis
              stream, then 1 (then 2 fresh) `reelrank worker`s started: events / seconds from the
              moment the workers' consumers are attached (first pending drop) until both groups have
              applied and acknowledged everything. Also HTTP POST /v1/events through both servers.
  fresh       POST /v1/posts on process A by a creator the viewer follows -> the post is in a feed
              page of process B: seconds, median and max over `--trials`.

Local services (scripts/services) at REELRANK_TEST_DATABASE_URL / REELRANK_TEST_REDIS_URL or the
defaults; a schema and key prefix unique to the run, dropped afterwards. Figures only.

    .venv/bin/python bench/bench_server_mode.py [--posts 20000] [--seconds 15] [--clients 8]
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

import httpx
import numpy as np
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.server_mode.cluster import Cluster, free_port  # noqa: E402

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


def http_ingest(urls: list[str], viewers: list[str], post_ids: list[str], n: int) -> float:
    rng = np.random.default_rng(9)

    def run(i: int) -> None:
        with httpx.Client(base_url=urls[i % len(urls)], timeout=60) as c:
            for b in range(n // 1000 // 2):
                now = time.time()
                ev = [{"event_id": f"h{i}-{b}-{k}", "user_id": viewers[rng.integers(len(viewers))],
                       "post_id": post_ids[rng.integers(len(post_ids))], "kind": "view", "ts": now,
                       "watch_ms": 3000, "duration_ms": 15000} for k in range(1000)]
                c.post("/v1/events", json={"events": ev}).raise_for_status()

    t0 = time.monotonic()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return (n // 1000 // 2) * 2000 / (time.monotonic() - t0)


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
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    world = generate_world(WorldConfig(n_users=args.users, n_creators=300, n_posts=args.posts, seed=5))
    viewers = [u.user_id for u in world.viewers]
    tmp = Path(tempfile.mkdtemp(prefix="bench-server-mode-"))
    token = secrets.token_hex(3)
    schema, prefix = f"rr_bench_{token}", f"rr-bench:{token}"

    # (a) embedded, one process
    emb = Cluster(tmp / "embedded" / "data", "", "", "", "")
    env = emb.env()
    for k in ("REELRANK_DATABASE_URL", "REELRANK_REDIS_URL"):
        env.pop(k)
    import subprocess

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
        embedded = feed_load(emb.urls, viewers, args.seconds, args.clients)
    finally:
        emb.stop()
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
        feed_load(cl.urls, viewers, 3, args.clients)
        server = feed_load(cl.urls, viewers, args.seconds, args.clients)
        print(f"server, 2 processes:   feed p50 {server['p50_ms']:.1f} ms  p99 {server['p99_ms']:.1f} ms  "
              f"{server['req_s']:.0f} req/s  ({server['errors']} errors)")
        fresh = freshness(cl.urls[0], cl.urls[1], args.trials)
        print(f"post created on A -> in a feed page on B: median {np.median(fresh):.3f} s, max {max(fresh):.3f} s "
              f"({len(fresh)}/{args.trials} found within 10 s)")
        post_ids = [p.post_id for p in world.posts]
        rate = http_ingest(cl.urls, viewers, post_ids, 40_000)
        print(f"HTTP POST /v1/events over both processes (2 clients, 1,000/batch): {rate:,.0f} ev/s")
        # stream throughput: stop the worker, then 1 and 2 fresh workers drain a prepared backlog
        w = cl.procs.pop()
        w.terminate()
        w.wait()
        r = redis.Redis.from_url(RD)
        while not _group_done(r, f"{prefix}:events"):
            time.sleep(0.1)  # (nothing should be left; guards against a killed worker's leftovers)
            break
        r.close()
        from reelrank.state.records.postgres import PostgresRecordStore

        rs = PostgresRecordStore(PG, schema=schema)
        uids = [u.uid for b in rs.scan_users() for u in b]
        pids = [p.pid for b in rs.scan_posts() for p in b]
        rs.close()
        for n in (1, 2):
            eps = stream_throughput(cl, n, args.events, uids, pids)
            print(f"Redis Streams, {n} worker(s): {eps:,.0f} events/s applied by both groups "
                  f"({args.events:,} events in batches of 1,000)")
    finally:
        cl.stop()
        import psycopg

        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        r = redis.Redis.from_url(RD)
        for k in r.scan_iter(f"{prefix}:*", count=1000):
            r.delete(k)
        r.close()


if __name__ == "__main__":
    main()
