"""The in-process event stream for the embedded default: Redis Streams semantics in one process.

Entries live in parallel lists ordered by id ("<ms>-<seq>", like Redis), trimmed from the front to
`maxlen`. Each consumer group keeps the last id it delivered and its pending entries list (PEL):
entry id -> (owner, delivery time, deliveries). Nothing here is durable: in the embedded engine the
SQLite events table is the durable log, and start-up rebuilds online state from it.

Like Redis, an entry trimmed while still pending is gone: `read_pending` and `claim_stale` drop it
from the PEL instead of returning it. Size `maxlen` so consumers never lag that far behind.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reelrank.state.stream.base import StreamEntry, entry_key

_COMPACT_AT = 4096  # trimmed slots reclaimed once at least this many (and half the list) are dead


@dataclass(slots=True)
class _Pending:
    consumer: str
    delivered_ms: float
    deliveries: int


@dataclass(slots=True)
class _Group:
    last: tuple[int, int]  # the last id delivered to any consumer of the group (">" reads after it)
    pending: dict[str, _Pending] = field(default_factory=dict)


class MemoryEventStream:
    """Implements EventStream (state/stream/base.py) in memory; thread-safe."""

    def __init__(self, maxlen: int = 1_000_000, clock: Callable[[], float] = time.time) -> None:
        if maxlen < 1:
            raise ValueError("maxlen must be >= 1")
        self._maxlen = maxlen
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._keys: list[tuple[int, int]] = []
        self._ids: list[str] = []
        self._payloads: list[bytes] = []
        self._head = 0  # entries before this index were trimmed (reclaimed in bulk by _compact)
        self._last: tuple[int, int] = (0, 0)
        self._groups: dict[str, _Group] = {}

    # -- helpers -----------------------------------------------------------------------------------
    def _now_ms(self) -> float:
        return self._clock() * 1000.0

    def _next_key(self) -> tuple[int, int]:
        # Ids never go backwards, even if the wall clock does (Redis does the same).
        ms = int(self._now_ms())
        last_ms, last_seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return self._last

    def _trim(self) -> None:
        excess = len(self._keys) - self._head - self._maxlen
        if excess > 0:
            self._head += excess
            for i in range(self._head - excess, self._head):
                self._payloads[i] = b""  # let the trimmed payloads go now, before compaction
        if self._head >= _COMPACT_AT and self._head * 2 >= len(self._keys):
            del self._keys[: self._head], self._ids[: self._head], self._payloads[: self._head]
            self._head = 0

    def _find(self, key: tuple[int, int]) -> int:
        """Position of the entry with this key, or -1 if it was trimmed."""
        i = bisect.bisect_left(self._keys, key, lo=self._head)
        return i if i < len(self._keys) and self._keys[i] == key else -1

    def _group(self, group: str) -> _Group:
        g = self._groups.get(group)
        if g is None:
            raise LookupError(f"no consumer group {group!r}: call ensure_group first (NOGROUP)")
        return g

    def _entries(self, g: _Group, ids: Sequence[str]) -> list[StreamEntry]:
        """The entries of pending ids still in the stream; trimmed ones leave the PEL."""
        out = []
        for eid in ids:
            i = self._find(entry_key(eid))
            if i < 0:
                g.pending.pop(eid, None)
            else:
                out.append(StreamEntry(eid, self._payloads[i]))
        return out

    # -- EventStream -------------------------------------------------------------------------------
    def append(self, payloads: Sequence[bytes]) -> list[str]:
        with self._cond:
            ids = []
            for p in payloads:
                key = self._next_key()
                eid = f"{key[0]}-{key[1]}"
                self._keys.append(key)
                self._ids.append(eid)
                self._payloads.append(bytes(p))
                ids.append(eid)
            self._trim()
            self._cond.notify_all()
        return ids

    def ensure_group(self, group: str, from_start: bool = True) -> None:
        with self._cond:
            if group not in self._groups:
                self._groups[group] = _Group(last=(0, 0) if from_start else self._last)

    def read(self, group: str, consumer: str, count: int, block_ms: int = 0) -> list[StreamEntry]:
        deadline = time.monotonic() + block_ms / 1000.0
        with self._cond:
            g = self._group(group)
            while True:
                start = bisect.bisect_right(self._keys, g.last, lo=self._head)
                if start < len(self._keys) or block_ms <= 0:
                    break
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    start = bisect.bisect_right(self._keys, g.last, lo=self._head)
                    break
            stop = min(start + max(count, 0), len(self._keys))
            if stop <= start:
                return []
            now = self._now_ms()
            out = []
            for i in range(start, stop):
                eid = self._ids[i]
                g.pending[eid] = _Pending(consumer, now, 1)
                out.append(StreamEntry(eid, self._payloads[i]))
            g.last = self._keys[stop - 1]
            return out

    def read_pending(self, group: str, consumer: str, count: int) -> list[StreamEntry]:
        with self._cond:
            g = self._group(group)
            mine = sorted((eid for eid, p in g.pending.items() if p.consumer == consumer), key=entry_key)
            return self._entries(g, mine[: max(count, 0)])

    def claim_stale(self, group: str, consumer: str, min_idle_ms: int, count: int) -> list[StreamEntry]:
        with self._cond:
            g = self._group(group)
            now = self._now_ms()
            stale = sorted((eid for eid, p in g.pending.items() if now - p.delivered_ms >= min_idle_ms),
                           key=entry_key)[: max(count, 0)]
            out = self._entries(g, stale)
            for e in out:
                p = g.pending[e.entry_id]
                g.pending[e.entry_id] = _Pending(consumer, now, p.deliveries + 1)
            return out

    def ack(self, group: str, entry_ids: Sequence[str]) -> int:
        with self._cond:
            g = self._group(group)
            return sum(g.pending.pop(eid, None) is not None for eid in entry_ids)

    def length(self) -> int:
        with self._cond:
            return len(self._keys) - self._head

    # -- introspection (not in the Protocol: XINFO GROUPS gives the same in Redis) ---------------------
    def lag(self, group: str) -> int:
        """Entries not yet delivered to the group plus entries delivered but not acknowledged."""
        with self._cond:
            g = self._group(group)
            undelivered = len(self._keys) - bisect.bisect_right(self._keys, g.last, lo=self._head)
            return undelivered + len(g.pending)
