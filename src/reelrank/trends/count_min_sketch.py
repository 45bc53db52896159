"""Count-min sketch (Cormode & Muthukrishnan 2005) over OnlineState counter arrays, vectorised.

A depth x width grid of counters; item x adds to one cell per row, h_r(x) = ((a_r x + b_r) mod p) mod
width with p = 2^31 - 1 and (a_r, b_r) drawn from a fixed seed, a pairwise-independent family. The
estimate is the smallest of the item's d cells. It never undercounts, and with width = ceil(e / eps)
and depth = ceil(ln(1 / delta)) it overcounts by at most eps * N (N = total added) with probability
at least 1 - delta per query. Memory is depth * width * 4 bytes whatever the number of items: that is
why the trend detector counts velocity here rather than in per-post counters.

The sketch lives under one key of online state (a flat uint32 array, offset = row * width + col), so
the in-process state and Redis (BITFIELD) hold it alike. Sketches with the same shape and seed add up
cell by cell: summing per-bucket sketches gives a sketch of the whole window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reelrank.state.online.base import OnlineState

PRIME = (1 << 31) - 1  # items are folded into [0, PRIME): pids stay far below it


class CountMinSketch:
    def __init__(self, width: int, depth: int, seed: int = 0) -> None:
        if width < 1 or depth < 1:
            raise ValueError("width and depth must be >= 1")
        self.width = width
        self.depth = depth
        rng = np.random.default_rng(seed)
        self._a = rng.integers(1, PRIME, size=depth, dtype=np.uint64)[:, None]  # (d, 1)
        self._b = rng.integers(0, PRIME, size=depth, dtype=np.uint64)[:, None]
        self._row_base = (np.arange(depth, dtype=np.int64) * width)[:, None]  # (d, 1)

    @classmethod
    def for_error(cls, eps: float, delta: float, seed: int = 0) -> CountMinSketch:
        """The smallest sketch whose overcount is <= eps * N with probability >= 1 - delta."""
        if not (0 < eps < 1 and 0 < delta < 1):
            raise ValueError("eps and delta must be in (0, 1)")
        return cls(math.ceil(math.e / eps), math.ceil(math.log(1.0 / delta)), seed)

    @property
    def eps(self) -> float:
        return math.e / self.width

    @property
    def delta(self) -> float:
        return math.exp(-self.depth)

    @property
    def nbytes(self) -> int:
        return self.depth * self.width * 4

    def cells(self, items: np.ndarray) -> np.ndarray:
        """(d, N) int64 flat offsets of each item's cell in each row."""
        x = np.asarray(items, dtype=np.int64) % PRIME  # (N,) in [0, p): a * x < 2^62, no uint64 overflow
        h = (self._a * x.astype(np.uint64)[None, :] + self._b) % np.uint64(PRIME) % np.uint64(self.width)
        return h.astype(np.int64) + self._row_base

    def add(self, state: OnlineState, key: str, items: np.ndarray, counts: np.ndarray,
            ttl_s: float | None = None) -> None:
        """Add integer `counts` (N,) for `items` (N,) to the sketch stored under `key`."""
        if len(items) == 0:
            return
        cells = self.cells(items)  # (d, N)
        amounts = np.broadcast_to(np.asarray(counts, dtype=np.int64), cells.shape)
        state.array_incr(key, cells.ravel(), amounts.ravel(), ttl_s=ttl_s)

    def query(self, state: OnlineState, keys: Sequence[str], items: np.ndarray) -> np.ndarray:
        """(N,) estimates from the sum of the sketches under `keys` (e.g. the buckets of a window)."""
        items = np.asarray(items, dtype=np.int64)
        if len(items) == 0:
            return np.zeros(0, dtype=np.int64)
        cells = self.cells(items).ravel()
        total = np.zeros(len(cells), dtype=np.int64)
        for key in keys:
            total += state.array_get(key, cells)
        return total.reshape(self.depth, len(items)).min(axis=0)  # (d, N) -> (N,)
