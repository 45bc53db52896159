"""Interest features: a long-term interest vector and a session sequence per user, kept in online state.

Long-term: a time-decayed, weighted sum of the content vectors of posts the user engaged with
(negative feedback subtracts). Session: the last N actions; its vector is computed at request time so
the very last action counts. The retrieval query blends the two.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from reelrank.config import InterestSettings
from reelrank.state.online.base import OnlineState

_ACTION = struct.Struct("<qfd")  # pid, weight, ts


class VectorLookup(Protocol):
    def vectors(self, pids: np.ndarray) -> np.ndarray:
        """(N, D) float32 vectors of the given pids."""
        ...


@dataclass(frozen=True, slots=True)
class Interaction:
    uid: int
    pid: int
    weight: float
    ts: float


@dataclass(frozen=True, slots=True)
class SessionAction:
    pid: int
    weight: float
    ts: float


def _normalise(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return (v / n).astype(np.float32) if n > 1e-9 else None


class InterestFeatures:
    def __init__(self, state: OnlineState, vectors: VectorLookup, dim: int, settings: InterestSettings) -> None:
        self._state = state
        self._vectors = vectors
        self._dim = dim
        self._s = settings
        # Long-term vectors are read, updated and written back: concurrent ingest calls (the server's
        # worker threads) must not interleave on one user, or one batch's update is lost. Processes
        # sharing Redis state would need the update as one server-side script (not done yet).
        self._lock = threading.Lock()

    @staticmethod
    def _lt_key(uid: int) -> str:
        return f"u:{uid}:lt"

    @staticmethod
    def _session_key(uid: int) -> str:
        return f"u:{uid}:sess"

    # -- writes ----------------------------------------------------------------------------------
    def apply(self, interactions: Sequence[Interaction]) -> None:
        """Fold interactions (any users, any order) into long-term vectors and sessions."""
        weighted = [i for i in interactions if i.weight != 0.0]
        if not weighted:
            return
        pids = np.fromiter((i.pid for i in weighted), dtype=np.int64, count=len(weighted))
        vecs = self._vectors.vectors(pids)  # (N, D)
        by_user: dict[int, list[int]] = {}
        for row, inter in enumerate(weighted):
            by_user.setdefault(inter.uid, []).append(row)
        for uid, rows in by_user.items():
            rows.sort(key=lambda r: weighted[r].ts)
            self._update_long_term(uid, [weighted[r] for r in rows], vecs[rows])
            packed = [_ACTION.pack(weighted[r].pid, weighted[r].weight, weighted[r].ts) for r in rows]
            self._state.push_capped(self._session_key(uid), packed, self._s.session_len, self._s.session_ttl_s)

    def _update_long_term(self, uid: int, items: list[Interaction], vecs: np.ndarray) -> None:
        with self._lock:
            self._fold_long_term(uid, items, vecs)

    def _fold_long_term(self, uid: int, items: list[Interaction], vecs: np.ndarray) -> None:
        key = self._lt_key(uid)
        raw = self._state.get(key)
        if raw is None:
            last_ts, acc = items[0].ts, np.zeros(self._dim, dtype=np.float64)
        else:
            last_ts = struct.unpack_from("<d", raw)[0]
            acc = np.frombuffer(raw, dtype=np.float64, offset=8).copy()
        lam = np.log(2.0) / self._s.half_life_s
        for inter, vec in zip(items, vecs, strict=True):
            dt = max(inter.ts - last_ts, 0.0)
            acc *= np.exp(-lam * dt)
            acc += inter.weight * vec
            last_ts = max(last_ts, inter.ts)
        self._state.set(key, struct.pack("<d", last_ts) + acc.tobytes())

    def clear(self, uid: int) -> None:
        self._state.delete(self._lt_key(uid))
        self._state.delete(self._session_key(uid))

    # -- reads -----------------------------------------------------------------------------------
    def long_term(self, uid: int) -> np.ndarray | None:
        raw = self._state.get(self._lt_key(uid))
        if raw is None:
            return None
        return _normalise(np.frombuffer(raw, dtype=np.float64, offset=8))

    def session(self, uid: int) -> list[SessionAction]:
        raw = self._state.list_range(self._session_key(uid), self._s.session_len)
        return [SessionAction(*_ACTION.unpack(b)) for b in raw]

    def session_vector(self, actions: Iterable[SessionAction]) -> np.ndarray | None:
        acts = list(actions)
        if not acts:
            return None
        pids = np.fromiter((a.pid for a in acts), dtype=np.int64, count=len(acts))
        w = np.fromiter((a.weight for a in acts), dtype=np.float32, count=len(acts))
        # Newer actions count more inside the session: position 0 is the newest.
        w = w * np.power(0.85, np.arange(len(acts), dtype=np.float32))
        return _normalise(w @ self._vectors.vectors(pids))  # (N,) @ (N, D) -> (D,)

    def query(self, uid: int, fallback: np.ndarray | None = None) -> tuple[np.ndarray | None, list[SessionAction]]:
        """The retrieval query: long-term and session vectors blended by `session_weight`.

        `fallback` (e.g. the onboarding interests' vector) stands in for a user with no history.
        """
        actions = self.session(uid)
        lt = self.long_term(uid)
        if lt is None:
            lt = fallback
        sv = self.session_vector(actions)
        if sv is None:
            return lt, actions
        if lt is None:
            return sv, actions
        sw = self._s.session_weight
        return _normalise((1.0 - sw) * lt + sw * sv), actions
