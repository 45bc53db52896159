"""User-topic and user-creator affinity: time-decayed sums of interaction weights.

Negative feedback (skip, not interested, hide, report) lowers them, so a topic can go negative:
that is how "see less of this" is remembered. Decay without rewriting every entry: a weight added
at time t is stored as w * exp((t - T0) / tau) with a fixed epoch T0, and read back multiplied by
exp(-(now - T0) / tau). With tau of 14 days, float64 holds this for decades.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reelrank.state.online.base import OnlineState

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DEFAULT_TAU_S = 14 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class AffinityUpdate:
    uid: int
    topics: Sequence[str]
    creator_uid: int
    weight: float
    ts: float


class AffinityFeatures:
    def __init__(self, state: OnlineState, tau_s: float = DEFAULT_TAU_S, ttl_s: float = 90 * 24 * 3600.0) -> None:
        self._state = state
        self._tau = tau_s
        self._ttl = ttl_s

    @property
    def tau_s(self) -> float:
        """Decay time constant: an affinity (and a user's adjustment of it) shrinks by e in tau_s."""
        return self._tau

    def apply(self, updates: Sequence[AffinityUpdate]) -> None:
        n = len(updates)
        self.apply_arrays(np.fromiter((u.uid for u in updates), dtype=np.int64, count=n), [u.topics for u in updates],
                          np.fromiter((u.creator_uid for u in updates), dtype=np.int64, count=n),
                          np.fromiter((u.weight for u in updates), dtype=np.float64, count=n),
                          np.fromiter((u.ts for u in updates), dtype=np.float64, count=n))

    def apply_arrays(self, uids: np.ndarray, topics: Sequence[Sequence[str]], creator_uids: np.ndarray,
                     weights: np.ndarray, ts: np.ndarray) -> None:
        """`apply` on parallel (N,) arrays (topics: each row's topic names, primary first): one hincr per
        user and kind, whatever the number of events."""
        if len(uids) == 0:
            return
        scaled = (np.asarray(weights, dtype=np.float64) * np.exp((np.asarray(ts, dtype=np.float64) - T0) / self._tau))
        topic_inc: defaultdict[int, dict[str, float]] = defaultdict(dict)
        creator_inc: defaultdict[int, dict[str, float]] = defaultdict(dict)
        for uid, names, creator, v in zip(uids.tolist(), topics, creator_uids.tolist(), scaled.tolist(), strict=True):
            if v == 0.0:
                continue
            # The primary topic carries the post; secondary topics share a smaller part of the signal.
            d = topic_inc[uid]
            for i, topic in enumerate(names):
                d[topic] = d.get(topic, 0.0) + (v if i == 0 else 0.5 * v)
            c = creator_inc[uid]
            key = str(creator)
            c[key] = c.get(key, 0.0) + v
        incs = {f"u:{uid}:aff:topic": fields for uid, fields in topic_inc.items()}
        incs.update((f"u:{uid}:aff:creator", fields) for uid, fields in creator_inc.items())
        if incs:
            self._state.hincr_many(incs, ttl_s=self._ttl)

    def _read(self, key: str, now: float) -> dict[str, float]:
        f = math.exp(-(now - T0) / self._tau)
        return {k: v * f for k, v in self._state.hgetall(key).items()}

    def topics(self, uid: int, now: float) -> dict[str, float]:
        """topic -> current affinity (negative = the user pushes it away)."""
        return self._read(f"u:{uid}:aff:topic", now)

    def creators(self, uid: int, now: float) -> dict[int, float]:
        return {int(k): v for k, v in self._read(f"u:{uid}:aff:creator", now).items()}
