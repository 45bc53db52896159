"""The trending pool: posts the detector found trending, per topic, each for `ttl_s` after it was last
seen above the threshold.

Kept in online state as sorted sets whose score is the expiry time, so "still trending" is one
ZRANGEBYSCORE from now, re-detection refreshes the expiry, and maxlen trimming drops the entries that
expire first. Topic *names* (not the catalogue's per-process codes) name the keys, so every process
reading the pool agrees. `heat` keeps each post's last velocity / baseline ratio for explanations;
`velocity` its last velocity and `since` when it entered the pool (for GET /v1/trending).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from reelrank.state.online.base import OnlineState

ALL_KEY = "trend:all"
HEAT_KEY = "trend:heat"
VELOCITY_KEY = "trend:velocity"
SINCE_KEY = "trend:since"


@dataclass(frozen=True, slots=True)
class PoolEntry:
    """One post trending now, as last detected."""

    pid: int
    heat: float  # velocity / creator baseline at the last detection
    velocity: float | None  # engagement units in the detector's window at the last detection
    entered_at: float | None  # when it (re-)entered the pool; None if not recorded
    expires_at: float  # when it leaves the pool unless detected again


class TrendingPool:
    def __init__(self, state: OnlineState, ttl_s: float = 1800.0, max_per_topic: int = 200,
                 max_total: int = 2000) -> None:
        self._state = state
        self.ttl_s = ttl_s
        self._max_topic = max_per_topic
        self._max_total = max_total

    @staticmethod
    def _topic_key(topic: str) -> str:
        return f"trend:t:{topic}"

    def add(self, pids: Sequence[int], topics: Sequence[Sequence[str]], heat: Sequence[float], now: float,
            velocity: Sequence[float] | None = None) -> None:
        """Put posts (with their topics, velocity / baseline ratios and velocities) in the pool until
        now + ttl_s. A post not in the pool until now is recorded as entering it at `now`."""
        if not pids:
            return
        expiry = now + self.ttl_s
        live = self.all(now)  # read before the write below: who is entering now, who is refreshed
        entering = {int(p): now for p in pids if int(p) not in live}
        by_topic: dict[str, dict[int, float]] = {}
        for pid, names in zip(pids, topics, strict=True):
            for t in names:
                by_topic.setdefault(t, {})[int(pid)] = expiry
        keep = 2 * self.ttl_s  # a pool key outlives its newest member a little, then goes
        for t, members in by_topic.items():
            self._state.zadd(self._topic_key(t), members, maxlen=self._max_topic, ttl_s=keep)
        self._state.zadd(ALL_KEY, {int(p): expiry for p in pids}, maxlen=self._max_total, ttl_s=keep)
        self._state.zadd(HEAT_KEY, {int(p): float(h) for p, h in zip(pids, heat, strict=True)},
                         maxlen=self._max_total, ttl_s=keep)
        if velocity is not None:
            self._state.zadd(VELOCITY_KEY, {int(p): float(v) for p, v in zip(pids, velocity, strict=True)},
                             maxlen=self._max_total, ttl_s=keep)
        if entering:  # newest first survive trimming: an entry time outlives its post's stay in the pool
            self._state.zadd(SINCE_KEY, entering, maxlen=self._max_total, ttl_s=keep)

    def by_topic(self, topics: Iterable[str], now: float) -> dict[str, dict[int, float]]:
        """topic -> {pid: expiry} of posts trending now."""
        out = {}
        for t in topics:
            live = self._state.zitems_above(self._topic_key(t), now)
            if live:
                out[t] = live
        return out

    def all(self, now: float) -> dict[int, float]:
        """{pid: expiry} of every post trending now, whatever its topic."""
        return self._state.zitems_above(ALL_KEY, now)

    def entries(self, pids: Iterable[int], now: float) -> list[PoolEntry]:
        """What the pool knows about `pids` that are trending now (the others are skipped), in input order.
        Four reads whatever the number of pids."""
        live = self.all(now)
        wanted = [int(p) for p in pids if int(p) in live]
        if not wanted:
            return []
        heat = self._state.zitems_above(HEAT_KEY, float("-inf"))
        velocity = self._state.zitems_above(VELOCITY_KEY, float("-inf"))
        since = self._state.zitems_above(SINCE_KEY, float("-inf"))
        return [PoolEntry(pid=p, heat=heat.get(p, 0.0), velocity=velocity.get(p), entered_at=since.get(p),
                          expires_at=live[p]) for p in wanted]

    def heat(self, pids: np.ndarray, now: float) -> np.ndarray:
        """(N,) float32: last velocity / baseline ratio of posts trending now; 0 for the others."""
        live = self.all(now)
        if not live or len(pids) == 0:
            return np.zeros(len(pids), dtype=np.float32)
        ratios = self._state.zitems_above(HEAT_KEY, float("-inf"))
        hot = np.fromiter(live, dtype=np.int64, count=len(live))
        hot_heat = np.fromiter((ratios.get(int(p), 0.0) for p in hot), dtype=np.float32, count=len(hot))
        order = np.argsort(hot)
        hot, hot_heat = hot[order], hot_heat[order]
        pos = np.minimum(np.searchsorted(hot, pids), len(hot) - 1)
        return np.where(hot[pos] == pids, hot_heat[pos], 0.0).astype(np.float32)
