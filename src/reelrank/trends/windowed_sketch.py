"""Counts per item over the last few minutes in count-min sketches, one sketch per time bucket.

The window (5 minutes by default) is split into buckets (30 s); a count goes into its bucket's sketch
and a query adds up the sketches of the last window/bucket buckets, the newest one still filling,
so the window covers between window - bucket and window seconds. Old buckets expire by TTL. Memory
is (window / bucket + 1) sketches, independent of the number of posts.
"""

from __future__ import annotations

import math

import numpy as np

from reelrank.state.online.base import OnlineState
from reelrank.trends.count_min_sketch import CountMinSketch


class WindowedSketch:
    def __init__(self, state: OnlineState, sketch: CountMinSketch, window_s: float = 300.0, bucket_s: float = 30.0,
                 prefix: str = "trend:cms") -> None:
        if not 0 < bucket_s <= window_s:
            raise ValueError("need 0 < bucket_s <= window_s")
        self._state = state
        self.sketch = sketch
        self.window_s = window_s
        self.bucket_s = bucket_s
        self._n = max(1, round(window_s / bucket_s))
        self._prefix = prefix

    def _key(self, bucket: int) -> str:
        return f"{self._prefix}:{int(self.bucket_s * 1000)}:{bucket}"

    @property
    def nbytes(self) -> int:
        """Memory of all live buckets."""
        return (self._n + 1) * self.sketch.nbytes

    def add(self, items: np.ndarray, counts: np.ndarray, ts: np.ndarray, now: float) -> None:
        """Count `counts` for `items` at times `ts` (future times count as now; times older than the window
        are dropped)."""
        ts = np.minimum(np.asarray(ts, dtype=np.float64), now)
        buckets = np.floor(ts / self.bucket_s).astype(np.int64)
        current = math.floor(now / self.bucket_s)
        live = buckets > current - self._n
        for b in np.unique(buckets[live]).tolist():
            sel = live & (buckets == b)
            self.sketch.add(self._state, self._key(b), items[sel], counts[sel],
                            ttl_s=self.window_s + 2 * self.bucket_s)

    def query(self, items: np.ndarray, now: float) -> np.ndarray:
        """(N,) estimated counts over the window ending now (never below the true count)."""
        current = math.floor(now / self.bucket_s)
        keys = [self._key(b) for b in range(current - self._n + 1, current + 1)]
        return self.sketch.query(self._state, keys, items)
