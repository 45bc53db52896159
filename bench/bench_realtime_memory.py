"""Memory of the real-time aggregates per tracked posts, and the velocity sketch's error at its default size.

Part of bench_realtime.py (its last tables); runs alone too:

    .venv/bin/python bench/bench_realtime_memory.py [--posts 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table


def memory_figures(n_posts: int) -> None:
    from reelrank.config import TrendSettings
    from reelrank.features.creator_baselines import CreatorBaselines
    from reelrank.features.post_counters import KINDS, WINDOWS_S, PostCounters
    from reelrank.state.online.memory import MemoryOnlineState
    from reelrank.trends.count_min_sketch import CountMinSketch
    from reelrank.trends.windowed_sketch import WindowedSketch

    state = MemoryOnlineState()
    now = time.time()
    counters = PostCounters(state)
    # Every counter of every post touched in the current and the previous bucket of every window: the
    # worst case, when all tracked posts were active within the last two days.
    pids = np.arange(1, n_posts + 1, dtype=np.int64)
    ids = np.repeat(pids, len(KINDS))
    cols = np.tile(np.arange(len(KINDS), dtype=np.int64), n_posts)
    ones = np.ones(len(ids), dtype=np.int64)
    t0 = time.perf_counter()
    for ts in [now] + [np.floor(now / w) * w - 1.0 for w in WINDOWS_S]:
        counters._w.add(ids, cols, ones, np.full(len(ids), ts), now)  # bench only: fill every bucket at once
    fill_s = time.perf_counter() - t0
    counter_bytes = state.nbytes("pc:")
    baselines = CreatorBaselines(state)
    for ts in (now, np.floor(now / 86400) * 86400 - 1.0):
        baselines.apply(pids, pids // 100, np.ones(n_posts, dtype=np.int64), np.full(n_posts, ts), now)
    mark_bytes, creator_bytes = state.nbytes("cb:mark:"), state.nbytes("cb:eng:") + state.nbytes("cb:posts:")
    tr = TrendSettings()
    sketch = WindowedSketch(state, CountMinSketch(tr.sketch_width, tr.sketch_depth), tr.window_s, tr.bucket_s)
    per_m = 1_000_000 / n_posts
    mib = 2**20
    exact_velocity = (round(tr.window_s / tr.bucket_s) + 1) * 4 * n_posts  # the alternative: u32 per post per bucket
    print_table(f"memory of the aggregates, {n_posts:,} tracked posts (all active), scaled to 1M posts "
                f"(in-process arrays; Redis BITFIELD strings hold the same bytes)",
                ["structure", "layout", f"MiB for {n_posts:,}", "MiB per 1M posts"],
                [["post window counters", f"{len(WINDOWS_S)} windows x 2 buckets x {len(KINDS)} kinds x u32 per post",
                  counter_bytes / mib, counter_bytes / mib * per_m],
                 ["creator baselines: per-post marks", "2 day buckets x u32 per post", mark_bytes / mib,
                  mark_bytes / mib * per_m],
                 ["creator baselines: per-creator counts", "2 counters x 2 buckets x u32 per creator (1/100 posts)",
                  creator_bytes / mib, creator_bytes / mib * per_m],
                 ["velocity count-min sketch (trends)", f"{round(tr.window_s / tr.bucket_s) + 1} buckets x "
                  f"{tr.sketch_depth} x {tr.sketch_width:,} x u32, whatever the number of posts",
                  sketch.nbytes / mib, sketch.nbytes / mib],
                 ["  exact per-post velocity instead", "same buckets, one u32 per post each", exact_velocity / mib,
                  exact_velocity / mib * per_m]])
    print(f"(filling the counters of {n_posts:,} posts x {len(KINDS)} kinds x 5 bucket sets took {fill_s:.1f}s)")
    sketch_error(n_posts, tr.sketch_width, tr.sketch_depth)


def sketch_error(n_posts: int, width: int, depth: int, units_per_s: float = 4_200.0) -> None:
    """Overcount of the default sketch on one 5-minute window of a skewed engagement stream. 20,000 events/s
    with the benchmark's mix is ~4,200 engagement units/s (likes 1, shares and saves 2, completions 1)."""
    from reelrank.state.online.memory import MemoryOnlineState
    from reelrank.trends.count_min_sketch import CountMinSketch

    rng = np.random.default_rng(11)
    n_units = int(units_per_s * 300)
    p = 1.0 / np.arange(1, n_posts + 1) ** 1.1
    draws = rng.choice(n_posts, size=n_units, p=p / p.sum())
    items = rng.permutation(n_posts)[draws] + 1  # hot posts anywhere in the pid range
    exact = np.bincount(items, minlength=n_posts + 1)
    cms = CountMinSketch(width, depth, seed=0)
    state = MemoryOnlineState()
    for chunk in np.array_split(items, 100):
        cms.add(state, "w", chunk, np.ones(len(chunk), dtype=np.int64))
    touched = np.flatnonzero(exact)
    untouched = rng.choice(np.flatnonzero(exact == 0), size=min(20_000, int((exact == 0).sum())), replace=False)
    q = np.concatenate([touched, untouched])
    err = cms.query(state, ["w"], q) - exact[q]
    bound = cms.eps * n_units
    hot = exact[q] >= 20
    print_table(f"velocity sketch error on one 5-minute window: {n_units:,} engagement units over {n_posts:,} posts "
                f"(Zipf 1.1), width {width:,}, depth {depth}: guarantee overcount <= eps*N = {bound:.1f} with "
                f"probability >= {1 - cms.delta:.3f}",
                ["posts queried", "under-counts", "over eps*N", "mean overcount", "p99 overcount", "max overcount",
                 "posts >= 20 units: max relative error"],
                [[len(q), int((err < 0).sum()), f"{100 * float((err > bound).mean()):.3f}%", float(err.mean()),
                  float(np.percentile(err, 99)), int(err.max()),
                  f"{100 * float((err[hot] / exact[q][hot]).max()):.1f}%" if hot.any() else "-"]])


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--posts", type=int, default=1_000_000)
    memory_figures(p.parse_args().posts)
