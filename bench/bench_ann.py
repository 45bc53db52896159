"""AnnIndex (FAISS HNSW) against exact brute force on synthetic clustered 384-d vectors.

Why: the ANN source must return ~600 candidates in a few ms per request; this measures what the
index costs to build, what one request's search costs (single-threaded, as the server runs it),
how much faster than a brute-force scan it is, and how much recall it gives up for that.
Clustered data (unit vectors around topic / sub-topic centres, see Topics) is closer to real text embeddings than
isotropic noise, which is HNSW's worst case. Queries are drawn like the data (a user's interest
vector sits near the topics they engage with).

Also reports single online insert latency after the bulk build (the path a new post takes).

    .venv/bin/python bench/bench_ann.py                  # N=100,000, a few minutes on 2 cores
    .venv/bin/python bench/bench_ann.py --n 1000000      # ~4.5 GB RAM
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
from collections.abc import Callable, Iterator

import numpy as np

from reelrank.config import IndexSettings
from reelrank.index.ann_index import AnnIndex


class Topics:
    """Two-level synthetic topic structure: `topics` centres, each with `sub` sub-topic offsets.

    hier (default): unit vectors = topic + 0.7 * sub-topic offset + noise (|noise| ~ `noise`):
    cosine ~0.7 within a sub-topic, ~0.45 within a topic, ~0 across topics, which is roughly how
    caption embeddings of one niche / one broad topic / unrelated posts relate.
    flat (stress): sub-topics only, no shared topic, so beyond ~50 neighbours everything is noise-level
    near-ties; the worst case for HNSW recall and build time.
    """

    def __init__(self, rng: np.random.Generator, dim: int, topics: int, sub: int, noise: float, flat: bool) -> None:
        self.dim, self.noise = dim, noise
        base = np.zeros((topics, dim), np.float32) if flat else rng.standard_normal((topics, dim), dtype=np.float32)
        offs = rng.standard_normal((topics, sub, dim), dtype=np.float32) * (1.0 if flat else 0.7)
        self.centres = ((base[:, None, :] + offs) / math.sqrt(dim)).reshape(topics * sub, dim)  # (T*S, D)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, D) float32 unit vectors, generated in blocks to bound memory."""
        d = self.dim
        out = np.empty((n, d), dtype=np.float32)
        for s in range(0, n, 100_000):
            m = min(100_000, n - s)
            x = self.centres[rng.integers(0, len(self.centres), m)]
            x = x + (self.noise / math.sqrt(d)) * rng.standard_normal((m, d), dtype=np.float32)
            out[s : s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Limit BLAS threads for the exact baseline (one request = one core, like the HNSW search)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


Search = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def timed(fn: Search, queries: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    lat, results = [], []
    for q in queries:  # one query per call, as a feed request issues it
        t0 = time.perf_counter()
        results.append(fn(q))
        lat.append(time.perf_counter() - t0)
    return np.asarray(lat) * 1e3, results  # ms, [(pids, scores)]


def pct(x: np.ndarray, p: float) -> float:
    return float(np.percentile(x, p))


def main() -> None:
    defaults = IndexSettings()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="vectors in the index")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--data", choices=["hier", "flat"], default="hier", help="synthetic structure (see Topics)")
    ap.add_argument("--topics", type=int, default=50)
    ap.add_argument("--sub", type=int, default=40, help="sub-topics per topic")
    ap.add_argument("--noise", type=float, default=0.8, help="norm of the per-vector noise")
    ap.add_argument("--queries", type=int, default=200, help="queries timed per k (HNSW)")
    ap.add_argument("--exact-queries", type=int, default=100, help="queries timed per k (brute force)")
    ap.add_argument("--k", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--inserts", type=int, default=500, help="single online inserts timed after the build")
    ap.add_argument("--exact-threads", type=int, default=1, help="BLAS threads for the brute-force baseline")
    ap.add_argument("--m", type=int, default=defaults.hnsw_m)
    ap.add_argument("--ef-construction", type=int, default=defaults.ef_construction)
    ap.add_argument("--ef-search", type=int, nargs="+", default=[defaults.ef_search],
                    help="ef_search values to sweep (search uses max(ef_search, k))")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    topics = Topics(rng, args.dim, args.topics, args.sub, args.noise, flat=args.data == "flat")
    t0 = time.perf_counter()
    x = topics.sample(rng, args.n)  # (N, D)
    queries = topics.sample(rng, max(args.queries, args.exact_queries))  # (Q, D)
    pids = rng.permutation(np.arange(1, args.n + 1, dtype=np.int64))
    print(f"data: {args.n:,} x {args.dim} {args.data} ({args.topics} topics x {args.sub} sub-topics), "
          f"made in {time.perf_counter() - t0:.1f}s")

    settings = IndexSettings(hnsw_m=args.m, ef_construction=args.ef_construction, ef_search=args.ef_search[0])
    idx = AnnIndex(args.dim, settings)
    t0 = time.perf_counter()
    idx.add(pids, x)
    build_s = time.perf_counter() - t0
    n_1m = 1_000_000
    extrap = build_s * (n_1m / args.n) * (math.log(n_1m) / math.log(args.n))  # HNSW insert ~ log N
    print(f"build: {build_s:.1f}s ({args.n / build_s:,.0f} vec/s, M={args.m}, efC={args.ef_construction}, "
          f"threads={_threads()}); extrapolated to 1M: ~{extrap / 60:.1f} min")
    del x

    print(f"\nper-query latency, one query per call, single thread (exact: {args.exact_threads} BLAS thread(s)); "
          f"recall over the first {args.exact_queries} queries; score = mean HNSW top-k score / exact's")
    print(f"{'k':>6} {'ef':>5} | {'hnsw p50':>9} {'p99':>8} | {'exact p50':>9} {'p99':>8} | {'speed-up':>8} | "
          f"{'recall@k':>8} {'score':>7}")
    for k in args.k:
        with blas_threads(args.exact_threads):
            e_lat, e_res = timed(lambda q, k=k: idx.exact_search(q, k), queries[: args.exact_queries])
        for ef in sorted({max(ef, k) for ef in args.ef_search}):  # the search uses max(ef_search, k)
            idx.settings = settings.model_copy(update={"ef_search": ef})
            idx.search(queries[0], k)  # warm-up
            h_lat, h_res = timed(lambda q, k=k: idx.search(q, k), queries[: args.queries])
            pairs = list(zip(h_res, e_res, strict=False))  # the first exact_queries queries
            recall = np.mean([len(np.intersect1d(h[0], e[0])) / len(e[0]) for h, e in pairs])
            score = np.mean([h[1].mean() / e[1].mean() for h, e in pairs])
            print(f"{k:>6} {ef:>5} | {pct(h_lat, 50):>7.2f}ms {pct(h_lat, 99):>6.2f}ms | "
                  f"{pct(e_lat, 50):>7.2f}ms {pct(e_lat, 99):>6.2f}ms | {pct(e_lat, 50) / pct(h_lat, 50):>7.1f}x | "
                  f"{recall:>8.4f} {score:>7.4f}")
    idx.settings = settings

    new = topics.sample(rng, args.inserts)
    lat = []
    for i in range(args.inserts):
        t0 = time.perf_counter()
        idx.add(np.array([args.n + 1 + i]), new[i : i + 1])
        lat.append(time.perf_counter() - t0)
    ins = np.asarray(lat) * 1e3
    print(f"\nsingle online insert after build ({args.inserts}): p50 {pct(ins, 50):.2f}ms p99 {pct(ins, 99):.2f}ms "
          f"max {ins.max():.2f}ms (capacity {idx.capacity:,}, no storage realloc below it)")
    mem = idx.ntotal * args.dim * 4 + idx._index.hnsw.neighbors.size() * 4
    print(f"index memory (vectors + links): {mem / 2**30:.2f} GiB")


def _threads() -> int:
    import faiss

    return int(faiss.omp_get_max_threads())


if __name__ == "__main__":
    main()
