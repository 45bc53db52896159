"""Redis online state that fails open for reads, so feeds are served while Redis is unreachable.

Server mode's feeds read sessions, seen posts, interest vectors, affinities, counters and the trending
pool from Redis. When Redis cannot be reached a read returns what an unknown key returns (nothing),
the page is built from what the process holds itself (catalogue, graph, index, popularity), and the
request is marked degraded (`trace.degraded` gets "online_state:redis_unavailable"; metric
`reelrank_online_state_failures_total`). Writes raise `BackendUnavailable`, which the HTTP layer turns
into a 503, except inside `best_effort()` (the feed's own "served" marks), where they are dropped.

After a failure a small circuit breaker skips Redis for `open_s` (reads answer empty at once, writes
raise at once), so a dead Redis costs one failed connection per second, not one per call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import redis

from reelrank.state.online.base import Swapped
from reelrank.state.online.redis import RedisOnlineState

log = logging.getLogger(__name__)


class BackendUnavailable(RuntimeError):
    """A backend (Redis, PostgreSQL) cannot be reached: the request was not carried out (HTTP 503)."""

    def __init__(self, backend: str, detail: str = "") -> None:
        super().__init__(f"{backend} is unavailable{': ' + detail if detail else ''}")
        self.backend = backend


# An outage: Redis cannot be reached or cannot take writes now (loading, a read-only replica after a
# failover). Other errors (WRONGTYPE, a script error) are bugs, not outages: they do not trip the breaker,
# writes raise them as they are (a 500, and no outbox debt: re-applying would repeat what already ran),
# and reads log them and answer empty like an unknown key.
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, OSError)


class GuardedRedisOnlineState(RedisOnlineState):
    def __init__(self, url: str, prefix: str = "reelrank", *, open_s: float = 1.0, timeout_s: float = 2.0,
                 read_cache_s: float = 1.0, cache_max_bytes: int = 64 << 20) -> None:
        super().__init__(url, prefix, timeout_s=timeout_s)
        self.open_s = open_s
        self.failures = 0
        self._open_until = 0.0
        self._local = threading.local()
        self.read_cache_s = read_cache_s
        self.cache_max_bytes = cache_max_bytes
        self._arrays: dict[str, tuple[float, np.ndarray]] = {}

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._open_until

    def check(self) -> None:
        """Raise BackendUnavailable unless Redis answers a PING (ingest calls this before storing)."""
        if not self.available:
            raise BackendUnavailable("redis")
        try:
            self._r.ping()
        except UNAVAILABLE as exc:
            self._trip()
            raise BackendUnavailable("redis", type(exc).__name__) from exc

    def _trip(self) -> None:
        self.failures += 1
        self._open_until = time.monotonic() + self.open_s

    @contextmanager
    def best_effort(self) -> Iterator[None]:
        prev = getattr(self._local, "best_effort", False)
        self._local.best_effort = True
        try:
            yield
        finally:
            self._local.best_effort = prev

    def _read(self, fn: Any, default: Any, *args: Any) -> Any:
        if not self.available:
            return default
        try:
            return fn(*args)
        except UNAVAILABLE:
            self._trip()
            return default
        except redis.RedisError:
            log.exception("redis read failed (not an outage): answering empty")
            return default

    def _write(self, fn: Any, *args: Any) -> Any:
        if not self.available:
            if getattr(self._local, "best_effort", False):
                return None
            raise BackendUnavailable("redis")
        try:
            return fn(*args)
        except UNAVAILABLE as exc:
            self._trip()
            if not getattr(self._local, "best_effort", False):
                raise BackendUnavailable("redis", type(exc).__name__) from exc
            return None

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Writes queue without touching Redis; a failure surfaces when the batch is sent at the end of the
        outermost block, and is treated like a failed write (BackendUnavailable, dropped in best_effort)."""
        if self._batch_ops() is not None:
            yield
            return
        try:
            with super().batch():
                yield
        except UNAVAILABLE as exc:
            self._trip()
            if not getattr(self._local, "best_effort", False):
                raise BackendUnavailable("redis", type(exc).__name__) from exc

    # reads: empty on failure
    def get(self, key: str) -> bytes | None:
        return self._read(super().get, None, key)

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        return self._read(super().mget, [None] * len(keys), keys)

    def list_range(self, key: str, count: int) -> list[bytes]:
        return self._read(super().list_range, [], key, count)

    def zmembers_above(self, key: str, min_score: float) -> list[int]:
        return self._read(super().zmembers_above, [], key, min_score)

    def zitems_above(self, key: str, min_score: float) -> dict[int, float]:
        return self._read(super().zitems_above, {}, key, min_score)

    def hgetall(self, key: str) -> dict[str, float]:
        return self._read(super().hgetall, {}, key)

    def array_get(self, key: str, offsets: np.ndarray) -> np.ndarray:
        """Counter arrays (post counters, read by every feed for ~500 candidates x ~9 columns) come from a
        per-process copy of the whole key, refreshed at most every `read_cache_s`: one GET per key per
        second instead of thousands of BITFIELD sub-commands per request (measured: ~60 ms of a server-mode
        feed). Aggregates are written by workers off the request path, so they are seconds-fresh anyway.
        Keys over `cache_max_bytes` are read per request as before."""
        zeros = np.zeros(len(offsets), dtype=np.uint32)
        if self.read_cache_s <= 0:
            return self._read(super().array_get, zeros, key, offsets)
        now = time.monotonic()
        hit = self._arrays.get(key)
        if hit is None or now - hit[0] > self.read_cache_s:
            arr = self._read(self._whole_array, None, key)
            if arr is None:
                return self._read(super().array_get, zeros, key, offsets)
            if len(self._arrays) > 256:  # bucketed keys rotate: forget the old ones
                self._arrays = {k: v for k, v in self._arrays.items() if now - v[0] <= 10 * self.read_cache_s}
            hit = self._arrays[key] = (now, arr)
        arr = hit[1]
        offs = np.asarray(offsets, dtype=np.int64)
        inside = offs < len(arr)
        zeros[inside] = arr[offs[inside]]
        return zeros

    def _whole_array(self, key: str) -> np.ndarray | None:
        k = self._k(key)
        if int(self._r.strlen(k)) > self.cache_max_bytes:
            return None
        raw = self._r.get(k) or b""
        return np.frombuffer(raw[: len(raw) // 4 * 4], dtype=">u4")  # BITFIELD u32 #i: big-endian, 4 bytes each

    # writes: BackendUnavailable on failure (dropped inside best_effort())
    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        self._write(super().set, key, value, ttl_s)

    def delete(self, key: str) -> None:
        self._write(super().delete, key)

    def push_capped(self, key: str, values: Sequence[bytes], maxlen: int, ttl_s: float | None = None) -> None:
        self._write(super().push_capped, key, values, maxlen, ttl_s)

    def zadd(self, key: str, members: Mapping[int, float], maxlen: int | None = None,
             ttl_s: float | None = None) -> None:
        self._write(super().zadd, key, members, maxlen, ttl_s)

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        self._write(super().hincr, key, fields, ttl_s)

    def array_incr(self, key: str, offsets: np.ndarray, amounts: np.ndarray, ttl_s: float | None = None) -> None:
        self._write(super().array_incr, key, offsets, amounts, ttl_s)

    # Bulk writes record into a batch (an open one, or their own, sent through this class's batch()).
    def set_many(self, values: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        self._write(super().set_many, values, ttl_s)

    def push_capped_many(self, lists: Mapping[str, Sequence[bytes]], maxlen: int, ttl_s: float | None = None) -> None:
        self._write(super().push_capped_many, lists, maxlen, ttl_s)

    def zadd_many(self, members: Mapping[str, Mapping[int, float]], maxlen: int | None = None,
                  ttl_s: float | None = None) -> None:
        self._write(super().zadd_many, members, maxlen, ttl_s)

    def hincr_many(self, fields: Mapping[str, Mapping[str, float]], ttl_s: float | None = None) -> None:
        self._write(super().hincr_many, fields, ttl_s)

    def zincr_many(self, members: Mapping[str, Mapping[int, float]], maxlen: int, ttl_s: float | None = None) -> None:
        self._write(super().zincr_many, members, maxlen, ttl_s)

    def swap_many(self, values: Mapping[str, tuple[bytes | None, bytes]], ttl_s: float | None = None) -> Swapped:
        out = self._write(super().swap_many, values, ttl_s)
        if out is None:  # dropped (best_effort while Redis is down): nothing was written, nothing to retry
            out = Swapped()
            out.done = True
        return out
