"""What each user has already seen, and what each feed session has already served.

Seen posts are not served again within `seen_window_s`; posts served in one session (one cursor
chain) are never served twice in it, whether or not the client reported impressions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from reelrank.config import InterestSettings
from reelrank.state.online.base import OnlineState


class SeenFeatures:
    def __init__(self, state: OnlineState, settings: InterestSettings) -> None:
        self._state = state
        self._s = settings

    def mark_seen(self, seen: Mapping[int, Mapping[int, float]]) -> None:
        """seen: uid -> {pid: ts}."""
        if seen:
            self._state.zadd_many({f"u:{uid}:seen": items for uid, items in seen.items()}, maxlen=self._s.seen_max,
                                  ttl_s=self._s.seen_window_s)

    def seen(self, uid: int, now: float) -> np.ndarray:
        pids = self._state.zmembers_above(f"u:{uid}:seen", now - self._s.seen_window_s)
        return np.asarray(pids, dtype=np.int64)

    def mark_served(self, session_id: str, pids: Sequence[int], now: float) -> None:
        self._state.zadd(f"sess:{session_id}:served", {int(p): now for p in pids}, ttl_s=self._s.session_ttl_s)

    def served(self, session_id: str) -> np.ndarray:
        return np.asarray(self._state.zmembers_above(f"sess:{session_id}:served", float("-inf")), dtype=np.int64)
