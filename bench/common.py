"""Shared benchmark plumbing: the cached benchmark catalogue, a served engine, tables, machine facts.

The catalogue
-------------
`ensure_store(n_posts)` returns a data dir (default /tmp/reelrank-bench/<N>) holding an embedded
store with N posts, their ANN index snapshot, a synthetic population and warmed online state. It
is built once and reused while it still holds the N posts (the 1M build is paid once):

* world: `generate_world` with ~N/100 creators, 10,000 viewers and ~25 follows per viewer;
* vectors: posts carry *supplied* vectors instead of MiniLM-encoding their captions (a million
  captions would take hours on 2 cores): synthetic 384-d unit vectors clustered by topic,
  v = normalise(topic centroid + 0.5 secondary-topic centroid + 0.5 creator style + noise), seeded.
  Because of that the server runs with the hashing encoder: no caption is encoded at serving time
  (only onboarding-interest names of cold users and posts written through the API);
* posts are written in creation order through `engine.post_writer.put(chunk, vectors)`, so pids
  grow with time as on a real platform (the fresh source reads the newest pids);
* warm-up: 2,000 viewers x 30 events (views with watch_ms/duration_ms, likes, skips) drawn from
  their hidden interests over the last 2 days, through `engine.event_writer.ingest` in batches of
  1,000; the server rebuilds online state from these stored events at start-up. The events must be
  within the seen window (7 days) to count, so a catalogue whose warm-up is older than 6 days is
  warmed again with fresh events.

Everything here uses only the engine's public surface (writers, feed service, index, snapshot),
except for timing wrappers put on instances during the build to report where the time goes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import platform
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

DEFAULT_ROOT = Path(os.environ.get("REELRANK_BENCH_ROOT", "/tmp/reelrank-bench"))
FORMAT = 1  # bump when the catalogue recipe changes: older caches are rebuilt
META_FILE = "bench_meta.json"
DIM = 384
N_VIEWERS = 10_000
FOLLOWS_PER_VIEWER = 25
WARM_VIEWERS = 2_000
WARM_EVENTS_PER_VIEWER = 30
WARM_MAX_AGE_S = 6 * 86_400.0  # re-warm before the 7-day seen window drops the warm-up events
POST_CHUNK = 10_000
EVENT_BATCH = 1_000
# Vector recipe (see module docstring): weights of the parts before normalising.
W_SECONDARY, W_CREATOR, W_NOISE = 0.5, 0.5, 1.0

# The server the benchmarks start: hashing encoder (no caption is MiniLM-encoded at serving time,
# see above) and no periodic index snapshot (a 1M snapshot would stall a load level).
SERVER_ENV = {"REELRANK_ENCODER__KIND": "hashing", "REELRANK_INDEX__SNAPSHOT_EVERY_S": "0"}


# -- output ------------------------------------------------------------------------------------------
def machine_info() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    try:
        import faiss

        faiss_v = faiss.__version__
    except Exception:  # pragma: no cover - reporting only
        faiss_v = "?"
    load = os.getloadavg()
    threads = " ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
                       if k in os.environ) or "none set (library defaults)"
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "memory": mem,
        "python": platform.python_version(),
        "numpy / faiss": f"{np.__version__} / {faiss_v}",
        "code": _git_state(),
        "thread env (BLAS/OpenMP)": threads,
        "load avg at start (1/5/15 min)": f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
    }


def _git_state() -> str:
    """Commit plus how many tracked files differ from it: the tree moves while others work in it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=30).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"git {head or '?'}" + (f" + {len(dirty)} modified tracked files" if dirty else " (clean)")


def print_footer() -> None:
    load = os.getloadavg()
    print(f"\nload avg at the end (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}", flush=True)


def reproduce_command() -> str:
    """The exact command that produced this output, from the repository root."""
    script = os.path.relpath(os.path.abspath(sys.argv[0]), Path(__file__).resolve().parent.parent)
    return " ".join([".venv/bin/python", shlex.quote(script), *(shlex.quote(a) for a in sys.argv[1:])])


def print_header(title: str, notes: Sequence[str] = ()) -> None:
    print(f"\n=== {title} ===")
    rows = [[k, v] for k, v in machine_info().items()]
    rows.append(["command", reproduce_command()])
    print_table("machine", ["", ""], rows, header=False)
    for n in notes:
        print(f"note: {n}")
    sys.stdout.flush()


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], header: bool = True) -> None:
    cells = [[_fmt(c) for c in r] for r in rows]
    widths = [len(h) if header else 0 for h in headers]
    for r in cells:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    print(f"\n{title}")
    print(line)
    if header:
        print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
        print(line)
    for r in cells:
        print("| " + " | ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths, strict=True))
              + " |")
    print(line)
    sys.stdout.flush()


def _fmt(c: Any) -> str:
    if isinstance(c, float):
        if math.isnan(c):
            return "-"
        if abs(c) >= 1000:
            return f"{c:,.0f}"
        if abs(c) >= 100:
            return f"{c:.1f}"
        if abs(c) >= 1:
            return f"{c:.2f}"
        return f"{c:.3f}"
    if isinstance(c, int) and not isinstance(c, bool):
        return f"{c:,}"
    return str(c)


def _numeric(s: str) -> bool:
    return bool(s) and s.replace(",", "").replace(".", "").replace("-", "").replace("x", "").replace("%", "").isdigit()


def pct(values: Sequence[float] | np.ndarray, q: float) -> float:
    a = np.asarray(values, dtype=np.float64)
    return float(np.percentile(a, q)) if len(a) else float("nan")


def spread(values: Sequence[float]) -> str:
    """'median [min - max]' of per-run figures."""
    if not len(values):
        return "-"
    return f"{_fmt(float(np.median(values)))} [{_fmt(float(min(values)))} - {_fmt(float(max(values)))}]"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return float("nan")


def rss_mib(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


# -- settings and the store --------------------------------------------------------------------------
def bench_settings(data_dir: Path, **overrides: Any) -> Any:
    """Settings for an in-process engine on a benchmark store: hashing encoder, no periodic snapshot."""
    from reelrank.config import EncoderSettings, IndexSettings, Settings

    s = Settings(data_dir=data_dir, encoder=EncoderSettings(kind="hashing"),
                 index=IndexSettings(snapshot_every_s=0))
    for k, v in overrides.items():
        setattr(s, k, v)
    return s


@dataclass
class BenchStore:
    data_dir: Path
    meta: dict[str, Any]

    @property
    def n_posts(self) -> int:
        return int(self.meta["n_posts"])

    @property
    def warm_users(self) -> list[str]:
        return list(self.meta["warm_users"])

    @property
    def viewer_ids(self) -> list[str]:
        return list(self.meta["viewer_ids"])

    def describe(self) -> list[list[Any]]:
        m = self.meta
        age_h = (time.time() - m["built_at"]) / 3600
        rows: list[list[Any]] = [
            ["data dir", str(self.data_dir)],
            ["posts (synthetic clustered vectors)", f"{m['n_posts']:,}"],
            ["creators / viewers / follows", f"{m['n_creators']:,} / {m['n_viewers']:,} / {m['n_follows']:,}"],
            ["warm-up events", f"{m['n_warm_events']:,} ({WARM_VIEWERS:,} viewers x {WARM_EVENTS_PER_VIEWER})"],
            ["built", f"{age_h:.1f} h ago (world 'now'); warmed {(time.time() - m['warmed_at']) / 3600:.1f} h ago"],
        ]
        b = m.get("build_seconds", {})
        if b:
            rows.append(["build time (s)", ", ".join(f"{k} {v:.0f}" for k, v in b.items())])
        return rows


def store_dir(n_posts: int, root: Path = DEFAULT_ROOT) -> Path:
    return root / str(n_posts)


def _read_meta(data_dir: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        meta: dict[str, Any] = json.loads((data_dir / META_FILE).read_text())
        return meta
    return None


def _count_base_posts(data_dir: Path) -> int:
    """Posts of the generated world in the store (probe posts written by benchmarks are not counted)."""
    db = data_dir / "reelrank.sqlite3"
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM posts WHERE post_id GLOB 'post_[0-9]*'").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_store(n_posts: int, root: Path = DEFAULT_ROOT, seed: int = 0, rebuild: bool = False) -> BenchStore:
    """The cached catalogue of `n_posts` posts: reused when it holds them, otherwise built (see module doc)."""
    data_dir = store_dir(n_posts, root)
    with _file_lock(root / f".{n_posts}.lock"):
        meta = _read_meta(data_dir)
        ok = (not rebuild and meta is not None and meta.get("format") == FORMAT and meta.get("n_posts") == n_posts
              and meta.get("seed") == seed and (data_dir / "index" / "index.faiss").exists()
              and _count_base_posts(data_dir) >= n_posts)
        if ok:
            assert meta is not None
            print(f"reusing the cached catalogue in {data_dir} ({n_posts:,} posts)", flush=True)
            if time.time() - meta["warmed_at"] > WARM_MAX_AGE_S:
                print("its warm-up events are older than 6 days: warming again with fresh events", flush=True)
                meta = _rewarm(data_dir, meta)
            return BenchStore(data_dir, meta)
        if data_dir.exists():
            print(f"{data_dir} is missing, partial or stale: rebuilding it", flush=True)
            shutil.rmtree(data_dir)
        return BenchStore(data_dir, _build(data_dir, n_posts, seed))


class _Clock:
    """Accumulates seconds spent in wrapped calls (for 'where does the build time go')."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t

        return timed


def world_config(n_posts: int, seed: int, now: float) -> Any:
    from reelrank.simulation.world import WorldConfig

    n_creators = max(200, n_posts // 100)
    return WorldConfig(n_users=N_VIEWERS, n_creators=n_creators, n_posts=n_posts,
                       follow_density=min(0.5, FOLLOWS_PER_VIEWER / n_creators), seed=seed, now=now)


class VectorMaker:
    """Synthetic 384-d unit content vectors clustered by topic (see module docstring)."""

    def __init__(self, topics: Sequence[str], n_creators: int, seed: int, dim: int = DIM) -> None:
        rng = np.random.default_rng([seed, 7919])
        self.t_index = {t: i for i, t in enumerate(topics)}
        self.centroids = _unit(rng.normal(size=(len(topics), dim))).astype(np.float32)  # (T, D)
        self.styles = _unit(rng.normal(size=(n_creators, dim))).astype(np.float32)  # (C, D)
        self.seed = seed
        self.dim = dim

    def vectors(self, posts: Sequence[Any], chunk_no: int) -> np.ndarray:
        """(N, D) float32 unit vectors for `posts`; deterministic for (seed, chunk_no)."""
        rng = np.random.default_rng([self.seed, 104729, chunk_no])
        prim = np.fromiter((self.t_index[p.topics[0]] for p in posts), dtype=np.int64, count=len(posts))
        sec = np.fromiter((self.t_index.get(p.topics[1], -1) if len(p.topics) > 1 else -1 for p in posts),
                          dtype=np.int64, count=len(posts))
        creator = np.fromiter((int(p.creator_id.rsplit("_", 1)[1]) for p in posts), dtype=np.int64, count=len(posts))
        v = self.centroids[prim].copy()
        v += np.where(sec[:, None] >= 0, W_SECONDARY * self.centroids[np.maximum(sec, 0)], 0.0)
        v += W_CREATOR * self.styles[creator]
        v += (W_NOISE / math.sqrt(self.dim)) * rng.standard_normal((len(posts), self.dim), dtype=np.float32)
        return _unit(v).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _build(data_dir: Path, n_posts: int, seed: int) -> dict[str, Any]:
    from reelrank.engine import Engine
    from reelrank.simulation.world import generate_world

    print(f"building the benchmark catalogue: {n_posts:,} posts in {data_dir} (paid once, then cached)", flush=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    secs: dict[str, float] = {}
    now = time.time()
    t = time.perf_counter()
    cfg = world_config(n_posts, seed, now)
    world = generate_world(cfg)
    secs["world generation"] = time.perf_counter() - t

    t = time.perf_counter()
    engine = Engine(bench_settings(data_dir))
    secs["engine open"] = time.perf_counter() - t
    clock = _Clock()
    # Instance-level timing wrappers: PostWriter calls these same objects, so the split is exact.
    engine.records.upsert_posts = clock.wrap("sqlite upsert", engine.records.upsert_posts)  # type: ignore[method-assign]
    engine.index.add = clock.wrap("ann index add", engine.index.add)  # type: ignore[method-assign]
    try:
        t = time.perf_counter()
        accounts = world.creators + world.viewers
        for i in range(0, len(accounts), 5000):
            engine.account_writer.put_users(accounts[i : i + 5000])
        secs["accounts"] = time.perf_counter() - t

        t = time.perf_counter()
        engine.index.reserve(int(n_posts * 1.02) + 4096)  # grow FAISS storage once, not by repeated copies
        secs["index reserve"] = time.perf_counter() - t

        maker = VectorMaker(world.topics, len(world.creators), seed)
        posts = sorted(world.posts, key=lambda p: p.created_at)  # creation order: pids grow with time
        t = time.perf_counter()
        vec_s = 0.0
        with tqdm(total=len(posts), desc="posts (sqlite + ann add)", unit="post", mininterval=2.0) as bar:
            for c, i in enumerate(range(0, len(posts), POST_CHUNK)):
                chunk = posts[i : i + POST_CHUNK]
                tv = time.perf_counter()
                vecs = maker.vectors(chunk, c)
                vec_s += time.perf_counter() - tv
                engine.post_writer.put(chunk, vecs)
                bar.update(len(chunk))
        total = time.perf_counter() - t
        secs["posts total"] = total
        secs["  synthetic vectors"] = vec_s
        secs["  sqlite upsert"] = clock.seconds.get("sqlite upsert", 0.0)
        secs["  ann index add"] = clock.seconds.get("ann index add", 0.0)
        secs["  catalogue + rest"] = total - vec_s - secs["  sqlite upsert"] - secs["  ann index add"]
        del engine.records.upsert_posts, engine.index.add  # drop the wrappers

        t = time.perf_counter()
        edges = world.follows()
        for e in tqdm(edges, desc="follows", unit="edge", mininterval=2.0):
            engine.account_writer.put_edge(e)
        secs["follows"] = time.perf_counter() - t

        warm_users = [v.user_id for v in world.viewers[:WARM_VIEWERS]]
        t = time.perf_counter()
        n_events = _warm(engine, world, warm_users, seed, tag="warm")
        secs["warm-up events"] = time.perf_counter() - t

        public = [c.user_id for c in world.creators if not c.is_private][:200]
        meta = {
            "format": FORMAT,
            "n_posts": n_posts,
            "seed": seed,
            "built_at": now,
            "warmed_at": time.time(),
            "n_creators": len(world.creators),
            "n_viewers": len(world.viewers),
            "n_follows": len(edges),
            "n_warm_events": n_events,
            "topics": list(world.topics),
            "warm_users": warm_users,
            "viewer_ids": [v.user_id for v in world.viewers],
            "public_creators": public,
            "vector_recipe": {"secondary": W_SECONDARY, "creator": W_CREATOR, "noise": W_NOISE},
            "build_seconds": {},
        }
        # The interests are the world's hidden truth; kept for the warmed viewers only (re-warm, probes).
        meta["warm_interests"] = {u: world.interests[u] for u in warm_users}
        meta["topic_posts_sample"] = _topic_posts_sample(world)
    finally:
        t = time.perf_counter()
        engine.close()  # writes the index snapshot the server loads
        secs["snapshot + close"] = time.perf_counter() - t
    meta["build_seconds"] = {k.strip(): round(v, 1) for k, v in secs.items() if not k.startswith("  ")}
    meta["post_load_split_seconds"] = {k.strip(): round(v, 1) for k, v in secs.items() if k.startswith("  ")}
    (data_dir / META_FILE).write_text(json.dumps(meta))
    print("build seconds: " + ", ".join(f"{k.strip()} {v:.1f}" for k, v in secs.items()), flush=True)
    return meta


def _topic_posts_sample(world: Any, per_topic: int | None = 2000) -> dict[str, list[str]]:
    """Post ids per primary topic (up to `per_topic` each): what warm-up events draw from."""
    out: dict[str, list[str]] = {t: [] for t in world.topics}
    for p in world.posts:
        lst = out[p.topics[0]]
        if per_topic is None or len(lst) < per_topic:
            lst.append(p.post_id)
    return out


def _warm(engine: Any, world: Any | None, warm_users: list[str], seed: int, tag: str,
          meta: dict[str, Any] | None = None) -> int:
    """Ingest WARM_EVENTS_PER_VIEWER events per warmed viewer, drawn from their hidden interests."""
    from reelrank.domain import Event, EventKind, Surface

    rng = np.random.default_rng([seed, 31337, int(time.time())])
    now = time.time()
    if world is not None:
        interests = {u: world.interests[u] for u in warm_users}
        by_topic = _topic_posts_sample(world, None)
        durations = {p.post_id: p.duration_ms for p in world.posts}
    else:
        assert meta is not None
        interests, by_topic, durations = meta["warm_interests"], meta["topic_posts_sample"], {}
    topics = [t for t in by_topic if by_topic[t]]
    events: list[Event] = []
    for u in warm_users:
        w = interests[u]
        names, probs = list(w), np.asarray(list(w.values()), dtype=np.float64)
        probs /= probs.sum()
        ts = np.sort(now - rng.uniform(60, 2 * 86_400.0, WARM_EVENTS_PER_VIEWER))
        j = 0
        while j < WARM_EVENTS_PER_VIEWER:
            topic = names[rng.choice(len(names), p=probs)] if rng.random() < 0.85 else topics[rng.integers(len(topics))]
            pool = by_topic.get(topic) or by_topic[topics[0]]
            post_id = pool[int(rng.integers(len(pool)))]
            affinity = float(w.get(topic, 0.0))
            eng = 1.0 - math.exp(-6.0 * affinity)  # 0 for an unliked topic, ~0.7 for a 0.2 weight
            dur = durations.get(post_id) or 15_000
            ratio = float(rng.beta(1.0 + 6.0 * eng, 1.0 + 6.0 * (1.0 - eng)))
            t0 = float(ts[j])
            events.append(Event(event_id=f"{tag}-{u}-{j}", user_id=u, post_id=post_id, kind=EventKind.VIEW, ts=t0,
                                watch_ms=int(ratio * dur), duration_ms=dur, surface=Surface.REELS))
            j += 1
            if j < WARM_EVENTS_PER_VIEWER and rng.random() < 0.02 + 0.5 * eng * eng:
                events.append(Event(event_id=f"{tag}-{u}-{j}", user_id=u, post_id=post_id, kind=EventKind.LIKE,
                                    ts=t0 + 1.0, surface=Surface.REELS))
                j += 1
            elif j < WARM_EVENTS_PER_VIEWER and ratio < 0.2:
                events.append(Event(event_id=f"{tag}-{u}-{j}", user_id=u, post_id=post_id, kind=EventKind.SKIP,
                                    ts=t0 + 0.5, surface=Surface.REELS))
                j += 1
    for i in tqdm(range(0, len(events), EVENT_BATCH), desc="warm-up events", unit="batch", mininterval=2.0):
        engine.event_writer.ingest(events[i : i + EVENT_BATCH])
    return len(events)


def _rewarm(data_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    from reelrank.engine import Engine

    engine = Engine(bench_settings(data_dir))
    try:
        meta["n_warm_events"] = _warm(engine, None, meta["warm_users"], meta["seed"],
                                      tag=f"warm{int(time.time())}", meta=meta)
    finally:
        engine.close()
    meta["warmed_at"] = time.time()
    (data_dir / META_FILE).write_text(json.dumps(meta))
    return meta


def scratch_copy(store: BenchStore, name: str) -> Path:
    """A throw-away copy of the cached store, for benchmarks that write a lot (events)."""
    dst = store.data_dir.parent / f"{store.data_dir.name}-{name}-{os.getpid()}"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(store.data_dir, dst)
    return dst


# -- a served engine ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base_url: str
    port: int
    command: str
    log_path: Path
    startup_s: float = float("nan")
    info: dict[str, Any] = field(default_factory=dict)

    def rss_mib(self) -> float:
        return rss_mib(self.proc.pid)


def server_command(data_dir: Path, port: int) -> list[str]:
    exe = Path(sys.executable).parent / "reelrank"
    head = [str(exe)] if exe.exists() else [sys.executable, "-m", "reelrank.cli"]
    return [*head, "serve", "--data-dir", str(data_dir), "--encoder", "hashing", "--host", "127.0.0.1",
            "--port", str(port)]


@contextlib.contextmanager
def served(data_dir: Path, startup_timeout_s: float = 1800.0) -> Iterator[Server]:
    """`reelrank serve` (uvicorn, one process) on localhost, killed on exit whatever happens."""
    import httpx

    port = free_port()
    cmd = server_command(data_dir, port)
    env = {**os.environ, **SERVER_ENV}
    log_path = data_dir.parent / f"server-{data_dir.name}-{port}.log"
    shown = " ".join(f"{k}={v}" for k, v in SERVER_ENV.items()) + " " + " ".join(shlex.quote(c) for c in cmd)
    print(f"starting the server: {shown}\n  (log: {log_path})", flush=True)
    log = open(log_path, "wb")  # noqa: SIM115 - closed in the finally below, after the server stops
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = Server(proc, f"http://127.0.0.1:{port}", port, shown, log_path)
    try:
        with httpx.Client(base_url=server.base_url, timeout=5.0) as c:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode} during start-up; log tail:\n"
                                       + _tail(log_path))
                if time.perf_counter() - t0 > startup_timeout_s:
                    raise RuntimeError(f"server not healthy after {startup_timeout_s:.0f}s; log tail:\n"
                                       + _tail(log_path))
                try:
                    r = c.get("/healthz")
                    if r.status_code == 200:
                        server.info = r.json()
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.25)
        server.startup_s = time.perf_counter() - t0
        print(f"server healthy after {server.startup_s:.1f}s: {server.info}, RSS {server.rss_mib():,.0f} MiB",
              flush=True)
        yield server
    finally:
        stop_server(proc)
        log.close()


def stop_server(proc: subprocess.Popen[bytes], grace_s: float = 120.0) -> None:
    """SIGINT (uvicorn shuts down cleanly: the engine snapshots and closes), then SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _tail(path: Path, n: int = 4000) -> str:
    with contextlib.suppress(OSError):
        return path.read_bytes()[-n:].decode(errors="replace")
    return ""


HistKey = tuple[str, tuple[tuple[str, str], ...]]


def scrape_histograms(base_url: str, names: Sequence[str]) -> dict[HistKey, list[float]]:
    """{(metric, labels): [sum, count]} for the given Prometheus histograms, from GET /metrics."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(base_url + "/metrics", timeout=30.0).text
    out: dict[HistKey, list[float]] = {}
    for fam in text_string_to_metric_families(text):
        if fam.name not in names:
            continue
        for s in fam.samples:
            if s.name.endswith("_sum") or s.name.endswith("_count"):
                key = (fam.name, tuple(sorted(s.labels.items())))
                slot = out.setdefault(key, [0.0, 0.0])
                slot[0 if s.name.endswith("_sum") else 1] = float(s.value)
    return out


def scrape_counters(base_url: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """{labels: value} of one Prometheus counter family, from GET /metrics."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(base_url + "/metrics", timeout=30.0).text
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for fam in text_string_to_metric_families(text):
        if fam.name == name:
            for s in fam.samples:
                if s.name.endswith("_total"):
                    out[tuple(sorted(s.labels.items()))] = float(s.value)
    return out


def histogram_delta(before: dict[Any, list[float]], after: dict[Any, list[float]]) -> dict[Any, tuple[float, float]]:
    """{key: (mean, count)} of what was observed between two scrapes."""
    out = {}
    for k, (s1, c1) in after.items():
        s0, c0 = before.get(k, [0.0, 0.0])
        if c1 - c0 > 0:
            out[k] = ((s1 - s0) / (c1 - c0), c1 - c0)
    return out
