"""Feed latency and throughput on a cached benchmark catalogue (100k posts by default, 1M with --posts 1000000).

What it measures, in one run:
  a. the funnel in-process: ~2,000 feed requests for random warmed users through
     `engine.feed_service.feed`, per-stage p50/p99 from the request trace, and the total;
  b. ANN vs exact, side by side: the same requests with the ANN source's index search replaced by
     brute force (`AnnIndex.exact_search`), both latencies, the ratio, and the recall of the ANN
     source's top-k against the exact top-k for the same query vectors;
  c. over HTTP: `reelrank serve` (uvicorn, one process) on localhost, GET /v1/feed for rotating
     warmed users at several concurrency levels (wrk when it is on PATH, else a Python load
     generator), p50/p99 latency, requests/s, and mean ms per funnel stage from the server's /metrics;
  d. post ingest -> retrievable: POST /v1/posts on the running server (hashing encoder), timed until
     GET /v1/feed returns the post for a user whose interest matches it; and in-process with the real
     MiniLM encoder for a handful of posts, timed until the ANN index returns the post.

The catalogue is built once and cached (see bench/common.py). Figures only: nothing here asserts a
time. On a 2-core machine the load generator and the server share the CPU; the HTTP table shows how
much CPU each used.

    .venv/bin/python bench/bench_feed.py [--posts 100000] [--duration 15] [--concurrency 1,2,8] [--page-size 10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    DEFAULT_ROOT,
    BenchStore,
    Server,
    bench_settings,
    cpu_seconds,
    ensure_store,
    histogram_delta,
    pct,
    print_footer,
    print_header,
    print_table,
    rss_mib,
    scrape_counters,
    scrape_histograms,
    served,
    spread,
)

ROUNDS = 5  # the in-process requests are split into rounds: median and spread are over rounds


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--posts", type=int, default=100_000, help="catalogue size (cached per size)")
    p.add_argument("--duration", type=float, default=15.0, help="seconds per HTTP concurrency level")
    p.add_argument("--concurrency", default="1,2,8", help="HTTP concurrency levels (connections)")
    p.add_argument("--page-size", type=int, default=10)
    p.add_argument("--surface", default="reels", choices=["reels", "explore"])
    p.add_argument("--requests", type=int, default=2_000, help="in-process feed requests (part a)")
    p.add_argument("--compare-requests", type=int, default=500, help="requests run in both ANN and exact mode (b)")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of HTTP warm-up before the levels")
    p.add_argument("--probes", type=int, default=20, help="posts written over HTTP for ingest->retrievable (d)")
    p.add_argument("--minilm-probes", type=int, default=8, help="posts encoded in-process with MiniLM (d)")
    p.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="where cached catalogues live")
    p.add_argument("--rebuild", action="store_true", help="rebuild the cached catalogue")
    p.add_argument("--build-only", action="store_true", help="build (or check) the cached catalogue and stop")
    p.add_argument("--skip-inprocess", action="store_true")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ranker-from", type=Path, default=None,
                   help="a data dir whose models/ranker (e.g. from bench/bench_ranking.py --keep DIR) is served "
                        "for this run: the full stack (pre-ranker + multi-task ranker + value model)")
    p.add_argument("--ann-k", type=int, default=None, help="override sources.ann_k (ANN source candidates)")
    p.add_argument("--ef-search", type=int, default=None,
                   help="override index.ef_search (FAISS searches with max(ef_search, k))")
    p.add_argument("--ranker-mode", choices=["inline", "pool"], default=None,
                   help="override ranking.inline: the ranker on the request thread or on a worker thread")
    return p.parse_args()


def engine_settings(data_dir: Path, args: argparse.Namespace) -> Any:
    """bench_settings plus this run's overrides (printed, so a table says what it measured)."""
    s = bench_settings(data_dir)
    if args.ann_k is not None:
        s.sources.ann_k = args.ann_k
    if args.ef_search is not None:
        s.index.ef_search = args.ef_search
    if args.ranker_mode is not None:
        s.ranking.inline = args.ranker_mode == "inline"
    print(f"settings: sources.ann_k {s.sources.ann_k}, index.ef_search {s.index.ef_search}, ranker "
          f"{'inline' if s.ranking.inline else 'pool'}", flush=True)
    return s


# -- a. the funnel in-process -------------------------------------------------------------------------
def stage_key(rec: Any) -> str:
    return rec.stage if rec.stage in ("context", "merge", "page") else f"{rec.stage}:{rec.name}"


class FeedRunner:
    def __init__(self, engine: Any, surface: str, page_size: int) -> None:
        from reelrank.domain import FeedRequest, Surface

        self.engine = engine
        self.surface = Surface(surface)
        self.page_size = page_size
        self._req = FeedRequest

    def request(self, user_id: str) -> Any:
        return self._req(user_id=user_id, surface=self.surface, page_size=self.page_size)

    def run(self, user_id: str) -> tuple[float, Any, Any]:
        req = self.request(user_id)
        t = time.perf_counter()
        page, result = self.engine.feed_service.feed(req)
        return (time.perf_counter() - t) * 1000.0, page, result


def funnel_inprocess(runner: FeedRunner, users: list[str]) -> None:
    for u in users[:100]:  # warm-up: caches, thread pool, first-touch page faults
        runner.run(u)
    totals: list[float] = []
    stage_ms: dict[str, list[float]] = defaultdict(list)
    stage_n: dict[str, list[int]] = defaultdict(list)
    retrieval_wall: list[float] = []
    degraded = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for u in users:
        ms, _, result = runner.run(u)
        totals.append(ms)
        degraded += bool(result.trace.degraded)
        for rec in result.trace.stages:
            k = stage_key(rec)
            stage_ms[k].append(rec.ms)
            if rec.n_out is not None:
                stage_n[k].append(rec.n_out)
            if rec.stage == "merge":
                wall = float(rec.detail.get("retrieval_wall_ms", float("nan")))
                retrieval_wall.append(wall)
    cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    rows: list[list[Any]] = []
    for k, v in stage_ms.items():
        n = stage_n.get(k)
        name = "page (assembly: items, cursor, impressions)" if k == "page" else k
        rows.append([name, pct(v, 50), pct(v, 99), float(np.mean(v)), int(np.median(n)) if n else "-"])
    # Sources run concurrently in a thread pool: their wall time is 'retrieval (wall)', not their sum.
    idx = next((i for i, r in enumerate(rows) if r[0] == "merge"), len(rows))
    rows.insert(idx, ["retrieval (wall, sources in parallel)", pct(retrieval_wall, 50), pct(retrieval_wall, 99),
                      float(np.mean(retrieval_wall)), "-"])
    rows.append(["TOTAL feed_service.feed()", pct(totals, 50), pct(totals, 99), float(np.mean(totals)), "-"])
    print_table(f"a. funnel in-process: {len(users):,} feed requests, random warmed users, page_size "
                f"{runner.page_size}, surface {runner.surface.value} (degraded requests: {degraded})",
                ["stage", "p50 ms", "p99 ms", "mean ms", "median n_out"], rows)
    r = len(totals) // ROUNDS
    p50s = [pct(totals[i * r : (i + 1) * r], 50) for i in range(ROUNDS)]
    p99s = [pct(totals[i * r : (i + 1) * r], 99) for i in range(ROUNDS)]
    print_table(f"a. total latency over {ROUNDS} rounds of {r} requests: median [min - max] of the rounds",
                ["", "ms"], [["p50", spread(p50s)], ["p99", spread(p99s)],
                             ["throughput, 1 caller (req/s)", f"{1000.0 * len(totals) / sum(totals):.0f}"],
                             ["process CPU per request (all threads)", f"{1000.0 * cpu_s / len(users):.2f}"],
                             ["process cores while running (CPU s / wall s)", f"{cpu_s / wall_s:.2f}"]])


# -- b. exact vs ANN ----------------------------------------------------------------------------------
@contextlib.contextmanager
def source_deadline(runner: FeedRunner, ms: float) -> Iterator[None]:
    """Temporarily raise the pipeline's per-source deadline so brute force is not cut off (fail-open)."""
    pipe = runner.engine.feed_service.pipeline(runner.surface)
    old = pipe.source_deadline_ms
    object.__setattr__(pipe, "source_deadline_ms", ms)  # Pipeline is a frozen dataclass
    try:
        yield
    finally:
        object.__setattr__(pipe, "source_deadline_ms", old)


@contextlib.contextmanager
def exact_ann(index: Any) -> Iterator[None]:
    """Route AnnIndex.search (what the ANN source calls) to exact_search on this instance only."""
    index.search = index.exact_search
    try:
        yield
    finally:
        del index.search


def ann_vs_exact(runner: FeedRunner, users: list[str]) -> None:
    engine = runner.engine
    index = engine.index
    k = engine.settings.sources.ann_k
    default_deadline = runner.engine.feed_service.pipeline(runner.surface).source_deadline_ms

    # Recall and search-only latency on the very query vectors these requests retrieve with.
    now = time.time()
    ann_ms, ex_ms, rec_k, rec_100, rec_100_strict = [], [], [], [], []
    for u in users:
        ctx = engine.feed_service.context(runner.request(u), "bench-recall", now)
        if ctx.query is None:
            continue
        t = time.perf_counter()
        a, _ = index.search(ctx.query, k)
        ann_ms.append((time.perf_counter() - t) * 1000.0)
        t = time.perf_counter()
        e, _ = index.exact_search(ctx.query, k)
        ex_ms.append((time.perf_counter() - t) * 1000.0)
        sa = set(a.tolist())
        rec_k.append(len(sa & set(e.tolist())) / max(len(e), 1))
        rec_100.append(len(sa & set(e[:100].tolist())) / min(100, max(len(e), 1)))
        a100, _ = index.search(ctx.query, 100)
        rec_100_strict.append(len(set(a100.tolist()) & set(e[:100].tolist())) / min(100, max(len(e), 1)))

    # Whole feed requests, ANN and exact interleaved in blocks so drift on a shared machine hits both.
    modes: dict[str, dict[str, list[float]]] = {m: {"total": [], "source": []} for m in ("ann", "exact")}
    pages: dict[str, list[list[str]]] = {"ann": [], "exact": []}
    degraded = {"ann": 0, "exact": 0}
    block = 25
    with source_deadline(runner, 10_000.0):
        for u in users[:10]:  # warm both paths
            runner.run(u)
            with exact_ann(index):
                runner.run(u)
        for s in range(0, len(users), block):
            for mode in ("ann", "exact"):
                ctx_mgr = exact_ann(index) if mode == "exact" else contextlib.nullcontext()
                with ctx_mgr:
                    for u in users[s : s + block]:
                        ms, page, result = runner.run(u)
                        modes[mode]["total"].append(ms)
                        src = [r.ms for r in result.trace.stages if r.stage == "source" and r.name == "ann"]
                        modes[mode]["source"].append(src[0] if src else float("nan"))
                        degraded[mode] += bool(result.trace.degraded)
                        pages[mode].append([it["post_id"] for it in page.items])
    agree = [len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(pages["ann"], pages["exact"], strict=True)]
    ta, te = modes["ann"]["total"], modes["exact"]["total"]
    sa_, se_ = modes["ann"]["source"], modes["exact"]["source"]
    print_table(
        f"b. ANN (FAISS HNSW, ef_search {engine.settings.index.ef_search}, k {k}) vs exact brute force in the ANN "
        f"source: the same {len(users)} requests, interleaved in blocks of {block} (source deadline raised from "
        f"{default_deadline:.0f} ms to 10 s for both modes so brute force is not cut off)",
        ["", "ANN", "exact", "exact / ANN"],
        [
            ["feed total p50 ms", pct(ta, 50), pct(te, 50), f"{pct(te, 50) / pct(ta, 50):.1f}x"],
            ["feed total p99 ms", pct(ta, 99), pct(te, 99), f"{pct(te, 99) / pct(ta, 99):.1f}x"],
            ["ANN source p50 ms (in the funnel)", pct(sa_, 50), pct(se_, 50), f"{pct(se_, 50) / pct(sa_, 50):.1f}x"],
            ["ANN source p99 ms (in the funnel)", pct(sa_, 99), pct(se_, 99), f"{pct(se_, 99) / pct(sa_, 99):.1f}x"],
            ["search alone p50 ms (same queries)", pct(ann_ms, 50), pct(ex_ms, 50),
             f"{pct(ex_ms, 50) / pct(ann_ms, 50):.1f}x"],
            ["search alone p99 ms", pct(ann_ms, 99), pct(ex_ms, 99), f"{pct(ex_ms, 99) / pct(ann_ms, 99):.1f}x"],
            [f"exact would miss the {default_deadline:.0f} ms source deadline", "-",
             f"{100.0 * np.mean(np.asarray(se_) > default_deadline):.0f}% of requests", ""],
            ["degraded requests", degraded["ann"], degraded["exact"], ""],
        ],
    )
    print_table(f"b. recall of the ANN source vs exact, {len(rec_k)} query vectors of warmed users "
                f"({len(index):,} live vectors)",
                ["measure", "mean", "p5 (worst 5%)", "min"],
                [[f"recall@{k} (|ANN top-{k} & exact top-{k}| / {k})", float(np.mean(rec_k)), pct(rec_k, 5),
                  float(np.min(rec_k))],
                 [f"exact top-100 found in ANN top-{k}", float(np.mean(rec_100)), pct(rec_100, 5),
                  float(np.min(rec_100))],
                 ["recall@100 (ANN k=100 vs exact top-100)", float(np.mean(rec_100_strict)),
                  pct(rec_100_strict, 5), float(np.min(rec_100_strict))],
                 ["final page: share of posts equal in both modes", float(np.mean(agree)), pct(agree, 5),
                  float(np.min(agree))]])


# -- d. in-process ingest -> retrievable with the real encoder -------------------------------------------
def probe_post(store: BenchStore, post_id: str, i: int, rng: np.random.Generator, extra_token: str | None = None
               ) -> Any:
    from reelrank.domain import Post, PostKind
    from reelrank.simulation.topics import get_topic

    topics = store.meta["topics"]
    topic = topics[i % len(topics)]
    caption, tags = get_topic(topic).caption(rng.random(8))
    if extra_token:
        caption, tags, topic_list = f"{caption} {extra_token}", [*tags, extra_token], [extra_token]
    else:
        topic_list = [topic]
    creators = store.meta["public_creators"]
    return Post(post_id=post_id, creator_id=creators[i % len(creators)], kind=PostKind.REEL, caption=caption,
                hashtags=tags, topics=topic_list, duration_ms=15_000, created_at=time.time())


def minilm_probes(engine: Any, store: BenchStore, n: int, seed: int) -> None:
    from reelrank.config import EncoderSettings
    from reelrank.content.vectorizer import ContentVectorizer

    if n <= 0:
        return
    rng = np.random.default_rng([seed, 4242])
    run = time.strftime("%Y%m%d%H%M%S")
    k = engine.settings.sources.ann_k
    rows: dict[str, dict[str, list[float]]] = {}
    t = time.perf_counter()
    try:
        minilm = ContentVectorizer.from_settings(EncoderSettings(kind="minilm"))
        minilm.vectorize_text(["warm up the model"])
    except Exception as exc:  # the encoder extra may be missing on a minimal install
        print(f"\nd. MiniLM probes skipped: {exc!r}")
        return
    load_s = time.perf_counter() - t
    for enc_name, vz in (("minilm", minilm), ("hashing", engine.vectorizer)):
        cols: dict[str, list[float]] = defaultdict(list)
        found = 0
        for i in range(n):
            post = probe_post(store, f"probe-{enc_name}-{run}-{i}", i, rng)
            t0 = time.perf_counter()
            vec = vz.vectorize([post])  # (1, D)
            t1 = time.perf_counter()
            pid = engine.post_writer.put([post], vec)[0]  # SQLite + catalogue + ANN index
            t2 = time.perf_counter()
            hit = pid in engine.index and pid in set(engine.index.search(vec[0], k)[0].tolist())
            t3 = time.perf_counter()
            found += hit
            cols["encode"].append((t1 - t0) * 1000)
            cols["store + index add"].append((t2 - t1) * 1000)
            cols["ANN search finds it"].append((t3 - t2) * 1000)
            cols["total: write -> retrievable"].append((t3 - t0) * 1000)
        rows[f"{enc_name} ({found}/{n} found by ANN top-{k})"] = cols
    table = []
    for name, cols in rows.items():
        for part, v in cols.items():
            table.append([name, part, pct(v, 50), pct(v, 99), float(np.max(v))])
    print_table(f"d. in-process post write -> retrievable by ANN search ({n} posts per encoder, real captions; "
                f"MiniLM model load {load_s:.1f}s excluded)", ["encoder", "step", "p50 ms", "p99 ms", "max ms"], table)


def inprocess(store: BenchStore, args: argparse.Namespace) -> None:
    from reelrank.engine import Engine

    t = time.perf_counter()
    engine = Engine(engine_settings(store.data_dir, args))
    load_s = time.perf_counter() - t
    print(f"\nin-process engine opened in {load_s:.1f}s: {len(engine.catalogue):,} posts, {len(engine.index):,} "
          f"indexed, {len(engine.accounts):,} accounts; process RSS {rss_mib(os.getpid()):,.0f} MiB", flush=True)
    try:
        runner = FeedRunner(engine, args.surface, args.page_size)
        rng = np.random.default_rng(args.seed)
        users = [str(u) for u in rng.choice(store.warm_users, args.requests)]
        funnel_inprocess(runner, users)
        if args.compare_requests > 0:
            ann_vs_exact(runner, users[: args.compare_requests])
        minilm_probes(engine, store, args.minilm_probes, args.seed)
    finally:
        t = time.perf_counter()
        engine.close()
        print(f"(in-process engine closed, index snapshot written, in {time.perf_counter() - t:.1f}s)", flush=True)


# -- c. over HTTP ---------------------------------------------------------------------------------------
WRK_LUA = r"""
local users = {%(users)s}
local counter = 0
local offset = 0
local n_threads = 0
setup = function(thread)
  thread:set("tid", n_threads)
  n_threads = n_threads + 1
end
init = function(args)
  offset = (tonumber(tid) or 0) * 7919
end
request = function()
  counter = counter + 1
  local u = users[((offset + counter) %% #users) + 1]
  return wrk.format("GET", "/v1/feed?user_id=" .. u .. "&surface=%(surface)s&page_size=%(page_size)d")
end
done = function(summary, latency, requests)
  io.write(string.format("WRKJSON {\"requests\": %%d, \"duration_us\": %%d, \"status_errors\": %%d, " ..
    "\"connect_errors\": %%d, \"read_errors\": %%d, \"write_errors\": %%d, \"timeouts\": %%d, " ..
    "\"p50_us\": %%.1f, \"p90_us\": %%.1f, \"p99_us\": %%.1f, \"max_us\": %%.1f, \"mean_us\": %%.1f}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


class LoadResult(dict[str, float]):
    pass


def run_wrk(srv: Server, script: Path, conns: int, duration: float) -> LoadResult:
    import json

    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(duration))}s", "--timeout", "10s", "-s", str(script),
           srv.base_url]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    d = json.loads(line[len("WRKJSON "):])
    errors = d["status_errors"] + d["connect_errors"] + d["read_errors"] + d["write_errors"] + d["timeouts"]
    return LoadResult(requests=d["requests"], seconds=d["duration_us"] / 1e6, p50=d["p50_us"] / 1000,
                      p90=d["p90_us"] / 1000, p99=d["p99_us"] / 1000, max=d["max_us"] / 1000, errors=errors,
                      client_cpu=(r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime))


def run_python_load(srv: Server, users: list[str], conns: int, duration: float, surface: str,
                    page_size: int) -> LoadResult:
    """One thread and one keep-alive connection per concurrent client."""
    import httpx

    lat: list[list[float]] = [[] for _ in range(conns)]
    errors = [0] * conns
    start_evt = threading.Event()
    deadline = [0.0]

    def worker(i: int) -> None:
        with httpx.Client(base_url=srv.base_url, timeout=30.0,
                          limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)) as c:
            c.get("/healthz")  # open the connection before the clock starts
            j = i * 7919
            start_evt.wait()
            while time.perf_counter() < deadline[0]:
                u = users[j % len(users)]
                j += 1
                t = time.perf_counter()
                try:
                    r = c.get("/v1/feed", params={"user_id": u, "surface": surface, "page_size": page_size})
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                lat[i].append((time.perf_counter() - t) * 1000)
                errors[i] += not ok

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(conns)]
    for th in threads:
        th.start()
    time.sleep(0.5)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    deadline[0] = t0 + duration
    start_evt.set()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    all_lat = [x for v in lat for x in v]
    return LoadResult(requests=len(all_lat), seconds=elapsed, p50=pct(all_lat, 50), p90=pct(all_lat, 90),
                      p99=pct(all_lat, 99), max=max(all_lat) if all_lat else float("nan"), errors=sum(errors),
                      client_cpu=(r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime))


def http_bench(store: BenchStore, args: argparse.Namespace) -> None:
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and shutil.which("wrk") is not None)
    if args.loadgen == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("--loadgen wrk: wrk is not on PATH (apt-get install wrk)")
    users = store.warm_users
    tmp = Path(tempfile.mkdtemp(prefix="reelrank-bench-"))
    script = tmp / "feed.lua"
    script.write_text(WRK_LUA % {"users": ",".join(f'"{u}"' for u in users), "surface": args.surface,
                                 "page_size": args.page_size})
    gen = "wrk (C, 1 thread, 1 keep-alive connection per concurrent client)" if use_wrk else \
        "Python (httpx, 1 thread + 1 keep-alive connection per concurrent client)"

    def load(conns: int, duration: float) -> LoadResult:
        if use_wrk:
            return run_wrk(srv, script, conns, duration)
        return run_python_load(srv, users, conns, duration, args.surface, args.page_size)

    names = ("reelrank_stage_latency_ms", "reelrank_feed_latency_ms")
    try:
        with served(store.data_dir) as srv:
            print_table("c. server", ["", ""], [
                ["command", srv.command],
                ["start-up to healthy (s)", f"{srv.startup_s:.1f}"],
                ["server RSS after start-up (MiB)", f"{srv.rss_mib():,.0f}"],
                ["load generator", gen],
                ["users", f"rotating over {len(users):,} warmed users, a new feed session per request"],
            ], header=False)
            load(2, args.warmup)  # warm-up, not reported
            rows: list[list[Any]] = []
            stage_rows: dict[str, dict[int, float]] = {}
            degraded_rows = []
            for c in levels:
                before = scrape_histograms(srv.base_url, names)
                deg0 = scrape_counters(srv.base_url, "reelrank_stage_degraded")
                cpu0 = cpu_seconds(srv.proc.pid)
                res = load(c, args.duration)
                cpu1 = cpu_seconds(srv.proc.pid)
                after = scrape_histograms(srv.base_url, names)
                deg1 = scrape_counters(srv.base_url, "reelrank_stage_degraded")
                delta = histogram_delta(before, after)
                for labels, v in deg1.items():
                    if v - deg0.get(labels, 0.0) > 0:
                        lab = dict(labels)
                        degraded_rows.append([c, f"{lab['stage']}:{lab['name']}", lab["status"],
                                              int(v - deg0.get(labels, 0.0)),
                                              f"{100.0 * (v - deg0.get(labels, 0.0)) / max(res['requests'], 1):.1f}%"])
                feed_mean = next((m for (n, _), (m, _) in delta.items() if n == "reelrank_feed_latency_ms"),
                                 float("nan"))
                rows.append([c, res["requests"], res["requests"] / res["seconds"], res["p50"], res["p90"],
                             res["p99"], res["max"], res["errors"], feed_mean,
                             (cpu1 - cpu0) / res["seconds"], res["requests"] / max(cpu1 - cpu0, 1e-9),
                             res["client_cpu"] / res["seconds"]])
                for (n, labels), (m, _) in delta.items():
                    if n == "reelrank_stage_latency_ms":
                        lab = dict(labels)
                        key = f"{lab['stage']}:{lab['name']}" if lab["stage"] not in ("merge",) else "merge"
                        stage_rows.setdefault(key, {})[c] = m
            print_table(f"c. GET /v1/feed over HTTP, {args.duration:.0f}s per level after {args.warmup:.0f}s warm-up "
                        f"(client-side latency; 'cores' = CPU seconds per wall second; 2 cores are shared by "
                        f"server and load generator)",
                        ["concurrency", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors",
                         "engine mean ms", "server cores", "req per server CPU-s", "loadgen cores"], rows)
            order = sorted(stage_rows, key=_stage_order)
            print_table("c. mean ms per funnel stage under load (server /metrics: reelrank_stage_latency_ms "
                        "sum/count deltas per level; sources run in parallel)",
                        ["stage", *[f"c={c}" for c in levels]],
                        [[k, *[stage_rows[k].get(c, float("nan")) for c in levels]] for k in order])
            if degraded_rows:
                print_table("c. degraded stages under load (fail-open: a source past its deadline is skipped; "
                            "server /metrics reelrank_stage_degraded deltas)",
                            ["concurrency", "stage", "status", "count", "of requests"], degraded_rows)
            else:
                print("c. no stage was degraded (timeout/error) at any level", flush=True)
            http_probes(srv, store, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(server stopped)", flush=True)


def _stage_order(key: str) -> tuple[int, str]:
    prefix = key.split(":", 1)[0]
    return ({"context": 0, "source": 1, "merge": 2, "filter": 3, "score": 4, "select": 5}.get(prefix, 6), key)


def http_probes(srv: Server, store: BenchStore, args: argparse.Namespace) -> None:
    """POST /v1/posts, then GET /v1/feed?explain=true for a fresh user whose onboarding interest is a
    token only that post carries, until the post is on the page; the server is otherwise idle."""
    import httpx

    if args.probes <= 0:
        return
    rng = np.random.default_rng([args.seed, 777])
    run = time.strftime("%Y%m%d%H%M%S")
    ack, visible, polls, via_ann, missed = [], [], [], 0, 0
    with httpx.Client(base_url=srv.base_url, timeout=30.0) as c:
        for i in range(args.probes):
            token = f"probe{run}x{i}"
            user_id = f"probe_user_{run}_{i}"
            r = c.post("/v1/users", json={"user_id": user_id, "region": "US", "birth_year": 1990,
                                          "interests": [token]})
            r.raise_for_status()
            post = probe_post(store, f"probe_post_{run}_{i}", i, rng, extra_token=token)
            body = post.model_dump(mode="json")
            t0 = time.perf_counter()
            r = c.post("/v1/posts", json=body)
            t_ack = time.perf_counter()
            r.raise_for_status()
            n = 0
            while True:
                r = c.get("/v1/feed", params={"user_id": user_id, "surface": "reels", "page_size": 10,
                                               "explain": "true"})
                n += 1
                r.raise_for_status()
                hit = next((it for it in r.json()["items"] if it["post_id"] == post.post_id), None)
                if hit is not None:
                    visible.append(time.perf_counter() - t0)
                    via_ann += "ann" in hit["sources"]
                    break
                if time.perf_counter() - t0 > 10.0:
                    missed += 1
                    break
            ack.append(t_ack - t0)
            polls.append(n)
    print_table(f"d. HTTP post write -> in a matching user's feed ({args.probes} posts, hashing encoder on the server, "
                f"real captions + a unique token the user's onboarding interest names; server idle)",
                ["", "p50 s", "p99 s", "max s"],
                [["POST /v1/posts acknowledged", pct(ack, 50), pct(ack, 99), max(ack)],
                 ["post -> first GET /v1/feed page that contains it", pct(visible, 50), pct(visible, 99),
                  max(visible) if visible else float("nan")],
                 ["feed polls needed (count)", pct(polls, 50), pct(polls, 99), max(polls)]])
    print(f"d. {len(visible)}/{args.probes} probe posts reached the page within 10 s; {via_ann} of them were "
          f"proposed by the ANN source (the rest only by 'fresh'); {missed} missed.", flush=True)


def main() -> None:
    args = parse_args()
    print_header(
        f"reelrank feed benchmark, {args.posts:,} posts",
        notes=[
            "posts carry synthetic topic-clustered 384-d vectors (no MiniLM encoding of the catalogue); the "
            "server therefore runs the hashing encoder: no caption is MiniLM-encoded at serving time",
            "2-core machine: the load generator competes with the server for CPU (see the 'cores' columns); "
            "other sessions may be using the same machine, so compare ratios measured in one run",
        ],
    )
    t = time.perf_counter()
    store = ensure_store(args.posts, root=args.root, seed=args.seed, rebuild=args.rebuild)
    print_table(f"catalogue (ready in {time.perf_counter() - t:.1f}s)", ["", ""], store.describe(), header=False)
    if args.build_only:
        return
    with ranker_installed(store.data_dir, args.ranker_from):
        if not args.skip_inprocess:
            inprocess(store, args)
        if not args.skip_http:
            http_bench(store, args)
    print_footer()


@contextlib.contextmanager
def ranker_installed(data_dir: Path, source: Path | None) -> Iterator[None]:
    """Serve `source`'s ranker versions from the cached store for this run only (removed afterwards), so
    the cached catalogue keeps measuring the formula stack unless a run asks for the learned one."""
    target = data_dir / "models" / "ranker"
    if source is None:
        print("ranking: formula scorer (no --ranker-from)", flush=True)
        yield
        return
    src = source / "models" / "ranker"
    if not (src / "current").exists():
        raise SystemExit(f"--ranker-from {source}: no models/ranker/current there")
    if target.exists():
        raise SystemExit(f"{target} exists: remove it, or run without --ranker-from")
    shutil.copytree(src, target, symlinks=True)
    print(f"ranking: learned stack, ranker {(src / 'current').read_text().strip()} from {source}", flush=True)
    try:
        yield
    finally:
        shutil.rmtree(target, ignore_errors=True)


if __name__ == "__main__":
    main()
