"""Time-decayed engagement per post, globally and per region, with cached top lists.

Decay without touching every post: a score added at time t is stored as w * exp((t - t0) / tau);
the current value is stored * exp(-(now - t0) / tau). Only relative order matters for top lists, so
they need no decay at all. When the exponent grows large, everything is rescaled to a new t0.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections import defaultdict

import numpy as np


class PopularityFeatures:
    def __init__(self, tau_s: float = 24 * 3600.0, t0: float = 0.0, refresh_s: float = 2.0) -> None:
        self._tau = tau_s
        self._t0 = t0
        self._lock = threading.Lock()
        self._score = np.zeros(1024, dtype=np.float64)  # by pid
        self._region: defaultdict[str, dict[int, float]] = defaultdict(dict)
        self._refresh_s = refresh_s
        self._top_cache: dict[str, tuple[float, np.ndarray]] = {}

    def _scale(self, ts: float) -> float:
        x = (ts - self._t0) / self._tau
        if x > 600:  # rescale before exp overflows
            self._rebase(ts)
            x = 0.0
        return math.exp(x)

    def _rebase(self, ts: float) -> None:
        f = math.exp(-(ts - self._t0) / self._tau)
        self._score *= f
        for d in self._region.values():
            for k in d:
                d[k] *= f
        self._t0 = ts

    def add(self, items: list[tuple[int, float, float, str]]) -> None:
        """items: (pid, weight, ts, viewer_region) for positive engagements."""
        if not items:
            return
        with self._lock:
            top = max(p for p, _, _, _ in items)
            if top >= len(self._score):
                grown = np.zeros(max(top + 1, int(len(self._score) * 1.5)), dtype=np.float64)
                grown[: len(self._score)] = self._score
                self._score = grown
            for pid, w, ts, region in items:
                v = w * self._scale(ts)
                self._score[pid] += v
                reg = self._region[region]
                reg[pid] = reg.get(pid, 0.0) + v

    def scores(self, pids: np.ndarray, now: float) -> np.ndarray:
        """Current decayed engagement of each pid: (N,) float64."""
        s = self._score
        out = np.zeros(len(pids), dtype=np.float64)
        ok = pids < len(s)
        out[ok] = s[pids[ok]]
        return out * math.exp(-(now - self._t0) / self._tau)

    def top(self, region: str | None, k: int, now: float) -> np.ndarray:
        """The k most engaged pids in a region (or globally when region is None); cached briefly."""
        key = region or "*"
        hit = self._top_cache.get(key)
        if hit is not None and now - hit[0] < self._refresh_s and len(hit[1]) >= k:
            return hit[1][:k]
        with self._lock:
            if region is None:
                s = self._score
                n = min(k, int((s > 0).sum()))
                if n == 0:
                    pids = np.zeros(0, dtype=np.int64)
                else:
                    part = np.argpartition(-s, n - 1)[:n]
                    pids = part[np.argsort(-s[part])].astype(np.int64)
            else:
                d = self._region.get(region, {})
                pids = np.fromiter((p for p, _ in heapq.nlargest(k, d.items(), key=lambda kv: kv[1])),
                                   dtype=np.int64)
        self._top_cache[key] = (now, pids)
        return pids
