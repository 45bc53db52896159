"""Online state in Redis, for server mode: every serving process and worker sees the same values.

A thin adapter. Every write is encoded once, as an op of one Lua script (redis_batch.py): inside
`batch()` the calling thread's writes are recorded and sent when the block ends as one script call,
atomic like MULTI/EXEC (an ingest call's updates for hundreds of users cost one round trip, not five
per user); outside a batch a write is a batch of its own (still one round trip, and readers never see
a list pushed but not yet trimmed). Reads are plain commands.

Memory stays bounded the way the in-process state bounds it: lists are capped with LTRIM, sorted
sets trimmed to their highest scores with ZREMRANGEBYRANK, and TTLs are Redis's own (no sweep
needed). Vectors are raw float32 bytes, exactly as given.

Every key is `<prefix>:<key>`, so several deployments (or test runs) can share one Redis.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import redis

from reelrank.state.online.base import Swapped
from reelrank.state.online.redis_batch import BATCH_SCRIPT, BatchOps

_U32_MAX = int(np.iinfo(np.uint32).max)
_BITFIELD_CHUNK = 512  # sub-commands per BITFIELD call: bounds one command's size and server time


def _ms(ttl_s: float) -> int:
    return max(1, round(ttl_s * 1000))  # PEXPIRE 0 would delete the key at once


class RedisOnlineState:
    """Implements OnlineState (state/online/base.py) on Redis. Thread-safe (redis-py pools connections)."""

    def __init__(self, url: str, prefix: str = "reelrank", *, max_connections: int = 32,
                 timeout_s: float = 5.0) -> None:  # fmt: skip
        self._prefix = f"{prefix}:"
        # A blocking pool caps connections per process (many processes share one Redis) and makes a
        # burst wait for a free connection instead of opening hundreds.
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=timeout_s, socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s, health_check_interval=30,
        )  # fmt: skip
        # Any: redis-py annotates replies as unions of sync/async and str/bytes; with the default
        # decode_responses=False they are bytes, converted at each method's edge.
        self._r: Any = redis.Redis(connection_pool=pool)
        self._batch_local = threading.local()  # .ops: this thread's open batch() (BatchOps), or None
        self._batch_script = self._r.register_script(BATCH_SCRIPT)

    def _k(self, key: str) -> str:
        return self._prefix + key

    # -- batches -------------------------------------------------------------------------------
    def _batch_ops(self) -> BatchOps | None:
        return getattr(self._batch_local, "ops", None)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Record this thread's writes; the outermost block sends them as one script call when it ends."""
        if self._batch_ops() is not None:
            yield  # nested: joins the outer batch
            return
        ops = self._batch_local.ops = BatchOps()
        try:
            yield
        finally:
            self._batch_local.ops = None
        ops.send(self._batch_script)  # not reached when the block raised: nothing is sent

    def sweep(self) -> int:
        """Redis expires keys by itself; kept so the engine's maintenance loop needs no special case."""
        return 0

    # -- strings -------------------------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        value = self._r.get(self._k(key))
        return value if isinstance(value, bytes) else None

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        return [v if isinstance(v, bytes) else None for v in self._r.mget([self._k(k) for k in keys])]

    def set(self, key: str, value: bytes, ttl_s: float | None = None) -> None:
        # Without PX, SET clears an earlier TTL: the same as the in-process state.
        with self._recording() as ops:
            ops.set(self._k(key), value, 0 if ttl_s is None else _ms(ttl_s))

    def delete(self, key: str) -> None:
        with self._recording() as ops:
            ops.delete(self._k(key))

    # -- capped lists --------------------------------------------------------------------------
    def push_capped(self, key: str, values: Sequence[bytes], maxlen: int, ttl_s: float | None = None) -> None:
        self.push_capped_many({key: values}, maxlen, ttl_s)

    def list_range(self, key: str, count: int) -> list[bytes]:
        if count <= 0:
            return []  # LRANGE 0 -1 would return the whole list
        return list(self._r.lrange(self._k(key), 0, count - 1))

    # -- sorted sets of integer members ----------------------------------------------------------
    def zadd(
        self, key: str, members: Mapping[int, float], maxlen: int | None = None, ttl_s: float | None = None
    ) -> None:
        self.zadd_many({key: members}, maxlen, ttl_s)

    def zmembers_above(self, key: str, min_score: float) -> list[int]:
        return [int(m) for m in self._r.zrangebyscore(self._k(key), min_score, "+inf")]

    def zitems_above(self, key: str, min_score: float) -> dict[int, float]:
        rows = self._r.zrangebyscore(self._k(key), min_score, "+inf", withscores=True)
        return {int(m): float(s) for m, s in rows}

    # -- hash counters ---------------------------------------------------------------------------
    def hincr(self, key: str, fields: Mapping[str, float], ttl_s: float | None = None) -> None:
        self.hincr_many({key: fields}, ttl_s)

    def hgetall(self, key: str) -> dict[str, float]:
        return {f.decode(): float(v) for f, v in self._r.hgetall(self._k(key)).items()}

    # -- counter arrays --------------------------------------------------------------------------
    def array_incr(self, key: str, offsets: np.ndarray, amounts: np.ndarray, ttl_s: float | None = None) -> None:
        """BITFIELD INCRBY u32 with OVERFLOW SAT: a hot counter sticks at 2**32-1 instead of wrapping.
        Repeated offsets are summed first, so each counter is one sub-command."""
        offs = np.asarray(offsets, dtype=np.int64)
        if len(offs) == 0:
            return
        uniq, inv = np.unique(offs, return_inverse=True)
        sums = np.bincount(inv, weights=np.asarray(amounts, dtype=np.float64)).astype(np.int64)
        keep = sums > 0
        uniq, sums = uniq[keep], np.minimum(sums[keep], _U32_MAX)
        with self._recording() as ops:
            ops.array_incr(self._k(key), uniq, sums, 0 if ttl_s is None else _ms(ttl_s))

    def array_get(self, key: str, offsets: np.ndarray) -> np.ndarray:
        """BITFIELD_RO GET u32 (read-only: allowed on replicas); 0 for a missing key or offset."""
        offs = np.asarray(offsets, dtype=np.int64).tolist()
        out = np.zeros(len(offs), dtype=np.uint32)
        if not offs:
            return out
        k = self._k(key)
        with self._r.pipeline(transaction=False) as pipe:
            for i in range(0, len(offs), _BITFIELD_CHUNK):
                args: list[Any] = ["BITFIELD_RO", k]
                for o in offs[i : i + _BITFIELD_CHUNK]:
                    args += ["GET", "u32", f"#{o}"]
                pipe.execute_command(*args)
            values = [v for chunk in pipe.execute() for v in chunk]
        out[:] = values
        return out

    # -- bulk writes: recorded into this thread's batch (one is opened if none is) ----------------
    @contextmanager
    def _recording(self) -> Iterator[BatchOps]:
        """This thread's open batch, or a new one sent when the block ends."""
        ops = self._batch_ops()
        if ops is not None:
            yield ops
            return
        with self.batch():
            ops = self._batch_ops()
            assert ops is not None
            yield ops

    def set_many(self, values: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        ms = 0 if ttl_s is None else _ms(ttl_s)
        with self._recording() as ops:
            for key, value in values.items():
                ops.set(self._k(key), value, ms)

    def swap_many(self, values: Mapping[str, tuple[bytes | None, bytes]], ttl_s: float | None = None) -> Swapped:
        ms = 0 if ttl_s is None else _ms(ttl_s)
        out = Swapped()
        with self._recording() as ops:  # sent with the open batch (or now): conflicts known then
            for key, (expected, value) in values.items():
                ops.swap(self._k(key), expected, value, ms, out, key)
        return out

    def push_capped_many(self, lists: Mapping[str, Sequence[bytes]], maxlen: int, ttl_s: float | None = None) -> None:
        ms = 0 if ttl_s is None else _ms(ttl_s)
        with self._recording() as ops:
            for key, values in lists.items():
                ops.push_capped(self._k(key), values, maxlen, ms)

    def zadd_many(self, members: Mapping[str, Mapping[int, float]], maxlen: int | None = None,
                  ttl_s: float | None = None) -> None:
        ms = 0 if ttl_s is None else _ms(ttl_s)
        with self._recording() as ops:
            for key, items in members.items():
                ops.zadd(self._k(key), items, maxlen, ms)

    def zincr_many(self, members: Mapping[str, Mapping[int, float]], maxlen: int, ttl_s: float | None = None) -> None:
        ms = 0 if ttl_s is None else _ms(ttl_s)
        with self._recording() as ops:
            for key, items in members.items():
                ops.zincr(self._k(key), items, maxlen, ms)

    def hincr_many(self, fields: Mapping[str, Mapping[str, float]], ttl_s: float | None = None) -> None:
        ms = 0 if ttl_s is None else _ms(ttl_s)
        with self._recording() as ops:
            for key, items in fields.items():
                ops.hincr(self._k(key), items, ms)

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self._r.close()
        self._r.connection_pool.disconnect()
