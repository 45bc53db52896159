"""Per-creator engagement baseline: how much engagement one of this creator's posts normally gets in
five minutes, over the last day.

baseline = engagement units on the creator's posts in the last `window_s`
           / posts of the creator that got any engagement in that window
           / (window_s / period_s)

Per post, not per creator, so a creator with a hundred steady posts does not hide a post of theirs
that suddenly takes off, and a small creator's breakout is measured against small numbers. Both
counts are sliding-window counters (windowed_counters.py); "got any engagement" is tracked with one
mark per post and window bucket. A creator seen for less than a day has a baseline that is too low
(the window is not full yet): the trend detector's floor and minimum volume cover that.
"""

from __future__ import annotations

import math

import numpy as np

from reelrank.features.windowed_counters import WindowedCounters
from reelrank.state.online.base import OnlineState


class CreatorBaselines:
    def __init__(self, state: OnlineState, window_s: float = 86400.0, period_s: float = 300.0) -> None:
        self._state = state
        self.window_s = window_s
        self._window_s = window_s
        self._periods = window_s / period_s
        self._engagement = WindowedCounters(state, "cb:eng", 1, (window_s,))
        self._posts = WindowedCounters(state, "cb:posts", 1, (window_s,))

    def apply(self, pids: np.ndarray, creators: np.ndarray, units: np.ndarray, ts: np.ndarray, now: float) -> None:
        """Engagement `units` (N,) on posts `pids` of `creators` at times `ts` (only events with units > 0)."""
        sel = units > 0
        pids, creators, units = pids[sel], creators[sel], units[sel]
        ts = np.minimum(ts[sel], now)
        if len(pids) == 0:
            return
        zeros = np.zeros(len(pids), dtype=np.int64)
        self._engagement.add(creators, zeros, units, ts, now)
        current = math.floor(now / self._window_s)
        buckets = np.floor(ts / self._window_s).astype(np.int64)
        for b in (current, current - 1):
            in_b = buckets == b
            if not in_b.any():
                continue
            first, idx = np.unique(pids[in_b], return_index=True)
            key = f"cb:mark:{int(self._window_s)}:{b}"
            new = self._state.array_get(key, first) == 0  # posts not engaged with yet in this bucket
            if new.any():
                self._state.array_incr(key, first[new], np.ones(int(new.sum()), dtype=np.int64),
                                       ttl_s=2 * self._window_s + 60.0)
                owners = creators[in_b][idx[new]]
                self._posts.add(owners, np.zeros(len(owners), dtype=np.int64), np.ones(len(owners), dtype=np.int64),
                                np.full(len(owners), b * self._window_s, dtype=np.float64), now)

    def per_post(self, creators: np.ndarray, now: float) -> np.ndarray:
        """(N,) float32: the creators' normal engagement units per post per period (5 minutes)."""
        eng = self._engagement.counts(creators, self._window_s, now)[:, 0]
        posts = self._posts.counts(creators, self._window_s, now)[:, 0]
        return (eng / np.maximum(posts, 1.0) / self._periods).astype(np.float32)
