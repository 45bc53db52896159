"""Online state: small, hot, per-user and per-post values read on every request.

The interface reads like Redis on purpose (strings, capped lists, sorted sets, hash counters, all
with TTLs), so the in-process implementation and a Redis implementation are thin adapters over the
same calls, and the feature logic in features/ is written once against this Protocol.
Keys are plain strings; values are bytes (vectors are float32 bytes) or numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np


class Swapped:
    """The outcome of a compare-and-set write (`OnlineState.swap_many`): the keys whose value had changed
    since it was read (not written). Known once `done`: at once outside a batch, when the batch is sent
    inside one."""

    def __init__(self) -> None:
        self.conflicts: set[str] = set()
        self.done = False


class OnlineState(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of several string keys in one call (MGET), in order; None where a key is missing."""
        ...

    def batch(self) -> AbstractContextManager[None]:
        """Group this thread's writes inside the block into one unit (one ingest call's online updates).

        Redis records them and sends them when the block ends as one call of one Lua script
        (redis_batch.py): one round trip, applied atomically, so readers see all of the block's writes
        or none. Reads inside the block go straight to Redis and do not see the block's own pending
        writes. In memory, writes apply at once. Nested blocks join the outermost one; on Redis a block
        left by an exception sends nothing.
        """
        ...

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None: ...

    def swap_many(self, values: Mapping[str, tuple[bytes | None, bytes]], ttl_s: float | None = None) -> Swapped:
        """Compare-and-set: key -> (the value read earlier, or None for a missing key; the new value). Each
        key is written only if it still holds what was read; the others are the result's `conflicts` (known
        at once, or inside a batch() once the batch is sent), for the caller to re-read and retry. This is
        what makes a read-modify-write (the long-term interest vector) safe across processes."""
        ...

    def delete(self, key: str) -> None: ...

    def push_capped(self, key: str, values: Sequence[bytes], maxlen: int, ttl_s: float | None = None) -> None:
        """Prepend values (the last one ends up first) and keep only the newest maxlen (LPUSH + LTRIM)."""
        ...

    def list_range(self, key: str, count: int) -> list[bytes]:
        """The newest `count` entries, newest first (LRANGE 0 count-1)."""
        ...

    def zadd(
        self, key: str, members: Mapping[int, float], maxlen: int | None = None, ttl_s: float | None = None
    ) -> None:
        """Add or update integer members with scores; keep only the maxlen highest scores."""
        ...

    def zmembers_above(self, key: str, min_score: float) -> list[int]:
        """Members whose score >= min_score (ZRANGEBYSCORE key min +inf)."""
        ...

    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None: ...

    def hgetall(self, key: str) -> dict[str, float]: ...

    # Bulk writes: the same as one call per key (in the mapping's order), with one TTL for all keys. The
    # ingest path writes a few keys for each of hundreds of users per batch; in memory these take the
    # lock once, on Redis they go into one batch() (one script call), whether or not one is open.
    def set_many(self, values: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        """`set` of each key to its value."""
        ...

    def push_capped_many(self, lists: Mapping[str, Sequence[bytes]], maxlen: int, ttl_s: float | None = None) -> None:
        """`push_capped` of each key's values."""
        ...

    def zadd_many(self, members: Mapping[str, Mapping[int, float]], maxlen: int | None = None,
                  ttl_s: float | None = None) -> None:
        """`zadd` of each key's members."""
        ...

    def hincr_many(self, fields: Mapping[str, Mapping[str, float]], ttl_s: float | None = None) -> None:
        """`hincr` of each key's fields."""
        ...

    def zincr_many(self, members: Mapping[str, Mapping[int, float]], maxlen: int, ttl_s: float | None = None) -> None:
        """Add each amount to its member's score (a missing member starts at 0), then keep only each key's
        maxlen highest scores (ZINCRBY ... + ZREMRANGEBYRANK): a capped sorted set of running totals."""
        ...

    def zitems_above(self, key: str, min_score: float) -> dict[int, float]:
        """Members and scores whose score >= min_score (ZRANGEBYSCORE key min +inf WITHSCORES)."""
        ...

    # Counter arrays: a flat array of unsigned 32-bit counters under one key, addressed by offset, for
    # dense per-post / per-creator counts and count-min sketches. Redis: a string read and written with
    # BITFIELD (INCRBY u32 #offset n with OVERFLOW SAT; GET u32 #offset), grown on demand, zeros unset.
    def array_incr(self, key: str, offsets: np.ndarray, amounts: np.ndarray, ttl_s: float | None = None) -> None:
        """Add `amounts` (N,) non-negative ints at `offsets` (N,) (repeats add up; saturates at 2**32-1)."""
        ...

    def array_get(self, key: str, offsets: np.ndarray) -> np.ndarray:
        """(N,) uint32 counters at `offsets`; 0 for a missing key or an offset never written."""
        ...
