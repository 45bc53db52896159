"""Interest features: a long-term interest vector and a session sequence per user, kept in online state.

Long-term: a time-decayed, weighted sum of the content vectors of posts the user engaged with
(negative feedback subtracts). Session: the last N actions; its vector is computed at request time so
the very last action counts. The retrieval query blends the two.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from reelrank.config import InterestSettings
from reelrank.state.online.base import OnlineState, Swapped

log = logging.getLogger(__name__)

_ACTION = struct.Struct("<qfd")  # pid, weight, ts
_ACTION_DTYPE = np.dtype([("pid", "<i8"), ("weight", "<f4"), ("ts", "<f8")])  # the same layout, packed
assert _ACTION_DTYPE.itemsize == _ACTION.size


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


_MAX_ROUNDS = 5  # compare-and-set retries for vectors other processes keep changing


@dataclass(frozen=True)
class _Folding:
    """One ingest call's interactions grouped by user (rows sorted by user, then time), ready to fold into
    whatever long-term vectors are stored now: again for the users a compare-and-set found changed."""

    keys: list[str]  # (G,) the users' long-term keys
    t: np.ndarray  # (N,) times
    w: np.ndarray  # (N,) weights
    vecs: np.ndarray  # (N, D) float64 post vectors
    starts: np.ndarray  # (G,) first row of each user
    dim: int
    lam: float  # decay rate (ln 2 / half-life)

    def fold(self, raws: Sequence[bytes | None]) -> list[bytes]:
        """The new stored value of each user (float64 time, then the float64 vector).

        Per user, the sequential definition (in time order: acc <- acc * exp(-lam * dt) + w * v, with dt
        measured from the latest time seen so far, never negative) has the closed form
        acc_end = acc_0 * exp(-lam * (T - t_0)) + sum_i w_i * v_i * exp(-lam * (T - m_i)), where m_i is the
        latest time up to interaction i (stored time included) and T the latest of all.
        """
        starts, t = self.starts, self.t
        group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(t)]))
        rows = np.zeros((len(starts), 1 + self.dim), dtype=np.float64)  # (G, 1 + D), time in column 0
        rows[:, 0] = t[starts]  # a user with no stored vector starts at their earliest interaction
        stored = [j for j, raw in enumerate(raws) if raw is not None]
        if stored:
            blob = b"".join(raw for raw in raws if raw is not None)
            rows[stored] = np.frombuffer(blob, dtype="<f8").reshape(len(stored), -1)
        t0, acc = rows[:, 0].copy(), rows[:, 1:]
        m = np.maximum(t, t0[group])  # the latest time up to each interaction (times are sorted)
        end = np.maximum.reduceat(m, starts)
        acc *= np.exp(-self.lam * (end - t0))[:, None]
        add = (self.w * np.exp(-self.lam * (end[group] - m)))[:, None] * self.vecs
        acc += add if len(starts) == len(t) else np.add.reduceat(add, starts, axis=0)  # one row per user?
        rows[:, 0] = end
        out, rec = rows.tobytes(), rows.shape[1] * 8
        return [out[j * rec : (j + 1) * rec] for j in range(len(starts))]

    def subset(self, keys: set[str]) -> _Folding:
        """The same interactions for only these users."""
        bounds = np.r_[self.starts, len(self.t)]
        picked = [j for j, k in enumerate(self.keys) if k in keys]
        rows = np.concatenate([np.arange(bounds[j], bounds[j + 1]) for j in picked])
        lengths = np.asarray([bounds[j + 1] - bounds[j] for j in picked])
        return _Folding([self.keys[j] for j in picked], self.t[rows], self.w[rows], self.vecs[rows],
                        np.r_[0, np.cumsum(lengths)[:-1]], self.dim, self.lam)


class InterestFeatures:
    def __init__(self, state: OnlineState, vectors: VectorLookup, dim: int, settings: InterestSettings) -> None:
        self._state = state
        self._vectors = vectors
        self._dim = dim
        self._s = settings
        # Long-term vectors are read, updated and written back. Threads of this process take turns (the
        # lock); processes sharing Redis write with compare-and-set (swap_many) and redo the users whose
        # vector another process changed meanwhile (writing()). Re-entrant: the event writer holds it
        # (writing()) around apply_arrays, which takes it again.
        self._lock = threading.RLock()
        self._local = threading.local()  # .pending: this thread's swaps to check when its batch is sent

    @staticmethod
    def _lt_key(uid: int) -> str:
        return f"u:{uid}:lt"

    @staticmethod
    def _session_key(uid: int) -> str:
        return f"u:{uid}:sess"

    # -- writes ----------------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the long-term update lock and one online-state batch for the block (re-entrant).

        The event writer wraps all of an ingest call's online updates in it: on Redis they are sent together
        (one script call) when the block ends, and the lock is held until then, so a concurrent ingest call
        in this process cannot read a long-term vector that this one has read but not yet written back.
        The vectors are written with compare-and-set: when the batch has been sent, the users whose vector
        another process changed in between are re-read and folded again (a few rounds at most)."""
        with self._lock:
            outer = getattr(self._local, "pending", None) is None
            if outer:
                self._local.pending = []
            try:
                with self._state.batch():
                    yield
                if outer:
                    self._redo_conflicts(self._local.pending)
            finally:
                if outer:
                    self._local.pending = None

    def _swap(self, folding: _Folding) -> Swapped:
        """Read the users' stored vectors, fold, and write back only where nothing changed meanwhile."""
        raws = self._state.mget(folding.keys)
        new = folding.fold(raws)
        return self._state.swap_many({k: (raws[j], new[j]) for j, k in enumerate(folding.keys)})

    def _redo_conflicts(self, pending: list[tuple[Swapped, _Folding]]) -> None:
        for _ in range(_MAX_ROUNDS):
            again: list[tuple[Swapped, _Folding]] = []
            for swapped, folding in pending:
                if swapped.conflicts:
                    sub = folding.subset(swapped.conflicts)
                    again.append((self._swap(sub), sub))
            if not again:
                return
            pending = again
        log.warning("interest: long-term vectors of %d users still contended after %d rounds; left as they are",
                    sum(len(s.conflicts) for s, _ in pending), _MAX_ROUNDS)

    def apply(self, interactions: Sequence[Interaction]) -> None:
        """Fold interactions (any users, any order) into long-term vectors and sessions."""
        n = len(interactions)
        self.apply_arrays(np.fromiter((i.uid for i in interactions), dtype=np.int64, count=n),
                          np.fromiter((i.pid for i in interactions), dtype=np.int64, count=n),
                          np.fromiter((i.weight for i in interactions), dtype=np.float64, count=n),
                          np.fromiter((i.ts for i in interactions), dtype=np.float64, count=n))

    def apply_arrays(self, uids: np.ndarray, pids: np.ndarray, weights: np.ndarray, ts: np.ndarray) -> None:
        """`apply` on parallel (N,) arrays: grouped by user with numpy, one MGET for the users' vectors.

        Per user, the sequential definition (in time order: acc <- acc * exp(-lam * dt) + w * v, with dt
        measured from the latest time seen so far, never negative) has the closed form
        acc_end = acc_0 * exp(-lam * (T - t_0)) + sum_i w_i * v_i * exp(-lam * (T - m_i)), where m_i is the
        latest time up to interaction i (stored time included) and T the latest of all.
        """
        keep = weights != 0.0
        if not keep.any():
            return
        order = np.lexsort((ts[keep], uids[keep]))  # by user, then time; stable (batch order on ties)
        uid, pid = uids[keep][order], pids[keep][order]
        w, t = weights[keep][order].astype(np.float64), ts[keep][order].astype(np.float64)
        starts = np.flatnonzero(np.r_[True, uid[1:] != uid[:-1]])
        users = uid[starts].tolist()
        vecs = self._vectors.vectors(pid).astype(np.float64)  # (N, D)
        actions = np.empty(len(uid), dtype=_ACTION_DTYPE)
        actions["pid"], actions["weight"], actions["ts"] = pid, w, t
        packed = actions.tobytes()
        size = _ACTION.size
        folding = _Folding([self._lt_key(u) for u in users], t, w, vecs, starts, self._dim,
                           float(np.log(2.0) / self._s.half_life_s))
        with self.writing():
            self._local.pending.append((self._swap(folding), folding))
            bounds = np.r_[starts, len(uid)].tolist()
            self._state.push_capped_many(
                {self._session_key(u): [packed[r * size : (r + 1) * size] for r in range(bounds[j], bounds[j + 1])]
                 for j, u in enumerate(users)}, self._s.session_len, self._s.session_ttl_s)

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
