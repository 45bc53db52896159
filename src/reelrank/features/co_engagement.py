"""Co-engagement: "people who engaged with this also engaged with ...", aggregated off the request path.

For each positive engagement (features/signals.py event_weight > 0) of a user on post p, p is paired
with the user's few most recent *other* positive posts q, and one unit of co-engagement is added to
both q -> p and p -> q. Each post keeps only its top `neighbours` (a capped sorted set of running
totals, OnlineState.zincr_many: ZINCRBY + ZREMRANGEBYRANK in Redis) under a TTL that every new pair
renews, so a cold post's list expires. A user who engages with p again (a like after a completed view)
adds no new pairs: the recent list only moves p to the front, so one person cannot inflate a pair.

The per-user recent positives are a small packed int64 array (newest first) in online state, read
for the whole batch with one MGET and written back with one batch call together with the increments.
Two processes handling the same user at the same instant may each miss the other's last post (a
lost pair, never a wrong one): acceptable for a soft retrieval signal.

`CoEngagementHandler` runs inside the "features" consumer group (stream/realtime_layer.py), so it
runs in the worker in server mode and in the embedded consumer thread otherwise; `neighbours()` is
the read side used by retrieval/co_engagement_source.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reelrank.domain import EventKind
from reelrank.features.signals import (
    COMPLETION_RATIO,
    KIND_WEIGHT,
    LONG_VIEW_RATIO,
    PHOTO_LONG_DWELL_MS,
    QUICK_SKIP_RATIO,
)
from reelrank.state.online.base import OnlineState
from reelrank.stream.event_codec import KIND_CODE, concat_events

RECENT = 5  # the user's most recent positive posts a new positive is paired with
NEIGHBOURS = 100  # neighbours kept per post (the highest running totals)
TTL_S = 7 * 24 * 3600.0  # a post's neighbour list expires this long after its last new pair
RECENT_TTL_S = 3600.0  # pairs come from one sitting: an hour without a positive starts afresh

_KIND_W = np.zeros(256, dtype=np.float64)
for _kind, _w in KIND_WEIGHT.items():
    _KIND_W[KIND_CODE[_kind]] = _w
_VIEW = KIND_CODE[EventKind.VIEW]


def event_weights(events: np.ndarray) -> np.ndarray:
    """(N,) signals.event_weight of each decoded stream event, vectorised (watch_ms -1 = absent)."""
    w = _KIND_W[events["kind"]].copy()
    view = events["kind"] == _VIEW
    if view.any():
        watch = events["watch_ms"][view].astype(np.float64)
        dur = events["duration_ms"][view].astype(np.float64)
        ratio = np.divide(watch, dur, out=np.zeros_like(watch), where=dur > 0)
        video = np.select([ratio >= COMPLETION_RATIO, ratio >= LONG_VIEW_RATIO, ratio < QUICK_SKIP_RATIO],
                          [1.0, 0.5, -0.3], 0.1)
        photo = np.where(watch >= PHOTO_LONG_DWELL_MS, 0.4, 0.0)
        w[view] = np.where(watch < 0, 0.0, np.where(dur > 0, video, photo))
    return w


class CoEngagement:
    name = "co_engagement"

    def __init__(self, state: OnlineState, recent: int = RECENT, neighbours: int = NEIGHBOURS,
                 ttl_s: float = TTL_S, recent_ttl_s: float = RECENT_TTL_S) -> None:
        self._state = state
        self._recent = recent
        self._neighbours = neighbours
        self._ttl_s = ttl_s
        self._recent_ttl_s = recent_ttl_s

    @staticmethod
    def key(pid: int) -> str:
        return f"p:{pid}:co"

    @staticmethod
    def _recent_key(uid: int) -> str:
        return f"u:{uid}:coq"

    # -- write side: a stream handler ------------------------------------------------------------
    def handle(self, payloads: Sequence[bytes]) -> None:
        events = concat_events(payloads)
        if len(events) == 0:
            return
        ok = (event_weights(events) > 0) & (events["pid"] > 0)
        if not ok.any():
            return
        ev = events[ok]
        order = np.lexsort((ev["ts"], ev["uid"]))  # by user, then time (stable: batch order on ties)
        uids, pids = ev["uid"][order].tolist(), ev["pid"][order].tolist()
        users = list(dict.fromkeys(uids))
        raws = self._state.mget([self._recent_key(u) for u in users])
        recent: dict[int, list[int]] = {
            u: (np.frombuffer(r, dtype="<i8").tolist() if r else []) for u, r in zip(users, raws, strict=True)}
        incr: dict[str, dict[int, float]] = {}
        for u, p in zip(uids, pids, strict=True):
            seq = recent[u]
            if p in seq:  # engaged with again: no new pairs, just the newest now
                seq.remove(p)
            else:
                for q in seq:
                    a = incr.setdefault(self.key(q), {})
                    a[p] = a.get(p, 0.0) + 1.0
                    b = incr.setdefault(self.key(p), {})
                    b[q] = b.get(q, 0.0) + 1.0
            seq.insert(0, p)
            del seq[self._recent:]
        with self._state.batch():  # one script call on Redis
            if incr:
                self._state.zincr_many(incr, self._neighbours, self._ttl_s)
            self._state.set_many({self._recent_key(u): np.asarray(s, dtype="<i8").tobytes()
                                  for u, s in recent.items()}, self._recent_ttl_s)

    # -- read side -------------------------------------------------------------------------------
    def neighbours(self, pid: int) -> dict[int, float]:
        """pid -> co-engagement total of the post's kept neighbours ({} for a cold or unknown post)."""
        return self._state.zitems_above(self.key(pid), float("-inf"))
