"""In-process online state for the embedded default: dicts guarded by one lock, lazy TTL expiry.

The bulk writes (`set_many`, `push_capped_many`, `zadd_many`, `hincr_many`) take the lock and read the
clock once for all their keys: an ingest batch of 1,000 events touches ~600 users x 5 keys.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from reelrank.state.online.base import Swapped

_U32_MAX = np.iinfo(np.uint32).max
_GROW = 1.5  # a counter array that must grow grows by this factor, so growth copies are paid rarely
_SLACK = 1024  # spare counters in a new array (new pids arrive at the end of the range)


class MemoryOnlineState:
    """Implements OnlineState (state/online/base.py) in memory.

    Expired keys are dropped when touched and by `sweep()`, which the engine's maintenance loop calls,
    so memory stays bounded by live keys.
    """

    def __init__(self, clock: Any = time.time) -> None:
        self._data: dict[str, Any] = {}
        self._expiry: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []  # (expiry, key), one entry per key with a TTL
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._clock = clock

    # -- helpers -------------------------------------------------------------------------------
    def _live(self, key: str, now: float | None = None) -> Any:
        """The key's value, or None once expired (dropped then). `now`: the clock, read once by bulk calls."""
        exp = self._expiry.get(key)
        if exp is not None and exp <= (self._clock() if now is None else now):
            self._data.pop(key, None)
            self._expiry.pop(key, None)
            return None
        return self._data.get(key)

    def _open(self, key: str, now: float) -> tuple[Any, bool]:
        """`_live` for bulk writes: the value, and whether the key has a TTL. A key with a TTL is always
        queued in the heap (only sweep() unqueues, and only keys it drops or that have no TTL)."""
        exp = self._expiry.get(key)
        if exp is None:
            return self._data.get(key), False
        if exp <= now:
            self._data.pop(key, None)
            del self._expiry[key]
            return None, False
        return self._data.get(key), True

    def _expire_at(self, key: str, exp: float, queued: bool) -> None:
        self._expiry[key] = exp
        if not queued and key not in self._queued:
            self._queued.add(key)
            heapq.heappush(self._heap, (exp, key))

    def _touch(self, key: str, ttl_s: float | None, now: float | None = None) -> None:
        if ttl_s is not None:
            exp = self._expiry[key] = (self._clock() if now is None else now) + ttl_s
            if key not in self._queued:  # at most one heap entry per key; a later touch is found on pop
                self._queued.add(key)
                heapq.heappush(self._heap, (exp, key))

    def sweep(self, chunk: int = 2000) -> int:
        """Drop expired keys; return how many.

        Cost is proportional to the keys that expired, not to all live keys (a full scan under the
        lock stalled every request for tens of ms at 200k keys); the lock is released between chunks.
        """
        now = self._clock()
        dropped = 0
        while True:
            with self._lock:
                n = 0
                while self._heap and self._heap[0][0] <= now and n < chunk:
                    _, key = heapq.heappop(self._heap)
                    n += 1
                    exp = self._expiry.get(key)
                    if exp is None:  # deleted, or made persistent, since it was queued
                        self._queued.discard(key)
                    elif exp <= now:
                        self._data.pop(key, None)
                        self._expiry.pop(key, None)
                        self._queued.discard(key)
                        dropped += 1
                    else:  # touched again since: wait for its new expiry
                        heapq.heappush(self._heap, (exp, key))
                more = bool(self._heap) and self._heap[0][0] <= now
            if not more:
                return dropped

    def __len__(self) -> int:
        return len(self._data)

    # -- strings -------------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        with self._lock:
            v = self._live(key)
        return v if isinstance(v, bytes) else None

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        with self._lock:
            now = self._clock()
            values = [self._live(k, now) for k in keys]
        return [v if isinstance(v, bytes) else None for v in values]

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Writes apply at once in memory: nothing to group (callers needing a read-modify-write to be
        atomic hold their own lock, as InterestFeatures does)."""
        yield

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        with self._lock:
            self._data[key] = value
            if ttl_s is None:
                self._expiry.pop(key, None)
            self._touch(key, ttl_s)

    def set_many(self, values: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        with self._lock:
            self._data.update(values)
            if ttl_s is None:
                for key in values:
                    self._expiry.pop(key, None)
            else:
                now = self._clock()
                for key in values:
                    self._touch(key, ttl_s, now)

    def swap_many(self, values: Mapping[str, tuple[bytes | None, bytes]], ttl_s: float | None = None) -> Swapped:
        out = Swapped()
        with self._lock:
            now = self._clock()
            for key, (expected, value) in values.items():
                cur = self._live(key, now)
                if (cur if isinstance(cur, bytes) else None) != expected:
                    out.conflicts.add(key)
                    continue
                self._data[key] = value
                if ttl_s is None:
                    self._expiry.pop(key, None)
                else:
                    self._touch(key, ttl_s, now)
        out.done = True
        return out

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)
            self._expiry.pop(key, None)

    # -- capped lists --------------------------------------------------------------------------
    def push_capped(self, key: str, values: Sequence[bytes], maxlen: int, ttl_s: float | None = None) -> None:
        self.push_capped_many({key: values}, maxlen, ttl_s)

    def push_capped_many(self, lists: Mapping[str, Sequence[bytes]], maxlen: int, ttl_s: float | None = None) -> None:
        with self._lock:
            now = self._clock()
            for key, values in lists.items():
                lst, queued = self._open(key, now)
                if not isinstance(lst, deque) or lst.maxlen != maxlen:
                    lst = self._data[key] = deque(lst or (), maxlen=maxlen)
                lst.extendleft(values)
                if ttl_s is not None:
                    self._expire_at(key, now + ttl_s, queued)

    def list_range(self, key: str, count: int) -> list[bytes]:
        with self._lock:
            lst = self._live(key)
            if not isinstance(lst, deque):
                return []
            return [lst[i] for i in range(min(count, len(lst)))]

    # -- sorted sets of integer members ----------------------------------------------------------
    def zadd(
        self, key: str, members: Mapping[int, float], maxlen: int | None = None, ttl_s: float | None = None
    ) -> None:
        self.zadd_many({key: members}, maxlen, ttl_s)

    def zadd_many(self, members: Mapping[str, Mapping[int, float]], maxlen: int | None = None,
                  ttl_s: float | None = None) -> None:
        self._zwrite(members, maxlen, ttl_s, add=False)

    def zincr_many(self, members: Mapping[str, Mapping[int, float]], maxlen: int, ttl_s: float | None = None) -> None:
        self._zwrite(members, maxlen, ttl_s, add=True)

    def _zwrite(self, members: Mapping[str, Mapping[int, float]], maxlen: int | None, ttl_s: float | None,
                *, add: bool) -> None:
        """ZADD (scores set) or ZINCRBY (scores added) on many keys, then keep the maxlen highest."""
        with self._lock:
            now = self._clock()
            for key, items in members.items():
                z, queued = self._open(key, now)
                if not isinstance(z, dict):
                    z = self._data[key] = {}
                if add:
                    get = z.get
                    for m, v in items.items():
                        z[m] = get(m, 0.0) + v
                else:
                    z.update(items)
                if maxlen is not None and len(z) > maxlen:
                    self._trim(z, maxlen)
                if ttl_s is not None:
                    self._expire_at(key, now + ttl_s, queued)

    @staticmethod
    def _trim(z: dict[int, float], maxlen: int) -> None:
        # Trim in bulk (to 90% of maxlen) so the sort is paid rarely, not on every add.
        keep = sorted(z.items(), key=lambda kv: kv[1], reverse=True)[: int(maxlen * 0.9)]
        z.clear()
        z.update(keep)

    def zmembers_above(self, key: str, min_score: float) -> list[int]:
        with self._lock:
            z = self._live(key)
            if not isinstance(z, dict):
                return []
            return [m for m, s in z.items() if s >= min_score]

    def zitems_above(self, key: str, min_score: float) -> dict[int, float]:
        with self._lock:
            z = self._live(key)
            if not isinstance(z, dict):
                return {}
            return {m: s for m, s in z.items() if s >= min_score}

    # -- hash counters ---------------------------------------------------------------------------
    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        self.hincr_many({key: fields}, ttl_s)

    def hincr_many(self, fields: Mapping[str, Mapping[str, float]], ttl_s: float | None = None) -> None:
        with self._lock:
            now = self._clock()
            for key, items in fields.items():
                h, queued = self._open(key, now)
                if not isinstance(h, dict):
                    self._data[key] = {f: 0.0 + v for f, v in items.items()}  # a new hash: the increments
                else:
                    get = h.get
                    for f, v in items.items():
                        h[f] = get(f, 0.0) + v
                if ttl_s is not None:
                    self._expire_at(key, now + ttl_s, queued)

    def hgetall(self, key: str) -> dict[str, float]:
        with self._lock:
            h = self._live(key)
            return dict(h) if isinstance(h, dict) else {}

    # -- counter arrays --------------------------------------------------------------------------
    def array_incr(self, key: str, offsets: np.ndarray, amounts: np.ndarray, ttl_s: float | None = None) -> None:
        offsets = np.asarray(offsets, dtype=np.int64)
        if len(offsets) == 0:
            return
        # Sum repeats first (unique + bincount: O(N log N) in the batch, whatever the offsets' span), then
        # add with saturation in int64 so a hot counter sticks at 2**32-1 like BITFIELD OVERFLOW SAT.
        idx, inverse = np.unique(offsets, return_inverse=True)
        summed = np.bincount(inverse, weights=np.asarray(amounts, dtype=np.float64)).astype(np.int64)
        hi = int(idx[-1])
        with self._lock:
            arr = self._live(key)
            if not isinstance(arr, np.ndarray):
                arr = np.zeros(hi + 1 + _SLACK, dtype=np.uint32)  # calloc: pages never written cost nothing
            elif hi >= len(arr):
                grown = np.zeros(max(hi + 1, int(len(arr) * _GROW)), dtype=np.uint32)
                grown[: len(arr)] = arr
                arr = grown
            self._data[key] = arr
            arr[idx] = np.minimum(arr[idx].astype(np.int64) + summed, _U32_MAX)
            self._touch(key, ttl_s)

    def array_get(self, key: str, offsets: np.ndarray) -> np.ndarray:
        offsets = np.asarray(offsets, dtype=np.int64)
        out = np.zeros(len(offsets), dtype=np.uint32)
        with self._lock:
            arr = self._live(key)
            if isinstance(arr, np.ndarray) and len(offsets):
                ok = offsets < len(arr)
                out[ok] = arr[offsets[ok]]
        return out

    def nbytes(self, prefix: str = "") -> int:
        """Bytes held by counter arrays whose key starts with `prefix` (for memory figures)."""
        with self._lock:
            return sum(v.nbytes for k, v in self._data.items() if isinstance(v, np.ndarray) and k.startswith(prefix))
