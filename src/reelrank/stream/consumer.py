"""A stream consumer: reads a consumer group's entries in batches, applies them once, acknowledges them.

Written only against the EventStream and OnlineState Protocols, so the same loop runs on the
in-process stream and state (embedded) and on Redis Streams and Redis (server mode).

Delivery is at-least-once: an entry is acknowledged after its effects are applied, and a consumer
that restarts first re-reads its own pending entries; entries a dead consumer left pending are
claimed by a live one after `claim_idle_ms`. To keep effects exactly-once, a consumer marks each
entry it applied in online state (a small key with the entry id) before acknowledging it, and
removes the mark after the acknowledgement. Only an entry that is still pending can be delivered
again, and if it was applied its mark is there: the new owner acknowledges it without applying it.
Marks live only while an entry is pending, so they cost nothing at steady state, whatever the rate.
Why not one "applied up to" watermark per group: with two consumers in a group, or after a claim,
entries are applied out of id order, and a watermark written by one consumer would make another
skip older entries it has not applied yet. A group that disappears (Redis restarted without its data)
is created again by the consumer thread, which then goes on with the entries appended since.

What remains: a crash after a batch's effects are written but before its mark is written re-applies
that one batch. Closing that gap needs the effects and the mark in one transaction (MULTI/EXEC in
Redis), which the OnlineState Protocol does not offer yet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from reelrank.state.online.base import OnlineState
from reelrank.state.stream.base import EventStream, StreamEntry, entry_key

log = logging.getLogger(__name__)


class EntryHandler(Protocol):
    """Applies a batch of stream payloads to online state. Called from one thread per consumer."""

    name: str

    def handle(self, payloads: Sequence[bytes]) -> None: ...


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    batch: int = 64  # entries per read (each entry is one accepted event batch)
    block_ms: int = 100  # how long a read waits for new entries in the consumer thread
    claim_idle_ms: int = 30_000  # an entry pending this long belongs to a dead consumer
    claim_every_s: float = 5.0
    mark_ttl_s: float = 24 * 3600.0  # a mark left by a crash between ack and unmark goes away by itself
    max_attempts: int = 3  # a batch that fails this often is dropped (logged), so one bad entry cannot stall


class StreamConsumer:
    def __init__(self, stream: EventStream, state: OnlineState, group: str, consumer: str,
                 handler: EntryHandler, settings: ConsumerSettings | None = None) -> None:
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self._state = state
        self._handler = handler
        self._s = settings or ConsumerSettings()
        self._mark_prefix = f"stream:{group}:applied:"
        self._recovering = True  # own pending entries first, after a (re)start or a failed batch
        self._next_claim = 0.0
        self._attempts: dict[str, int] = {}
        self._progress = threading.Condition()
        self.acked_through: tuple[int, int] = (0, 0)  # highest entry key acknowledged by this consumer
        self.applied = 0  # entries applied (not skipped) by this consumer
        self.skipped = 0  # entries found already applied (redeliveries)
        self.dropped = 0  # entries given up after max_attempts failures

    def start(self) -> None:
        self.stream.ensure_group(self.group, from_start=True)
        self._recovering = True

    # -- one step ------------------------------------------------------------------------------------
    def poll(self, block_ms: int = 0) -> int:
        """Process one batch: own pending entries first, then (now and then) stale ones of dead
        consumers, then new ones. Returns the number of entries processed."""
        s = self._s
        if self._recovering:
            entries = self.stream.read_pending(self.group, self.consumer, s.batch)
            if entries:
                return self._process(entries)
            self._recovering = False
        now = time.monotonic()
        if now >= self._next_claim:
            self._next_claim = now + s.claim_every_s
            entries = self.stream.claim_stale(self.group, self.consumer, s.claim_idle_ms, s.batch)
            if entries:
                log.warning("%s/%s claimed %d stale entries", self.group, self.consumer, len(entries))
                return self._process(entries)
        return self._process(self.stream.read(self.group, self.consumer, s.batch, block_ms))

    def drain(self, max_rounds: int = 1_000_000) -> int:
        """Process until nothing is left (no blocking); returns entries processed."""
        total = 0
        for _ in range(max_rounds):
            n = self.poll(0)
            if n == 0 and not self._recovering:
                break
            total += n
        return total

    def run(self, stop: threading.Event) -> None:
        """The consumer thread's loop; errors are logged and retried, never fatal."""
        self.start()
        while not stop.is_set():
            try:
                self.poll(self._s.block_ms)
            except LookupError:  # the group is gone (Redis restarted without its data): make it again
                log.warning("%s/%s: consumer group missing, creating it again", self.group, self.consumer)
                try:
                    self.start()
                except Exception:
                    log.exception("%s/%s: could not create the consumer group", self.group, self.consumer)
                    stop.wait(0.5)
            except Exception:  # a broken backend must not kill the thread: log, back off, retry
                log.exception("%s/%s: poll failed", self.group, self.consumer)
                stop.wait(0.5)

    def wait_acked(self, key: tuple[int, int], timeout_s: float) -> bool:
        """Block until this consumer has acknowledged entries up to `key` (or timeout)."""
        with self._progress:
            return self._progress.wait_for(lambda: self.acked_through >= key, timeout_s)

    # -- apply once ----------------------------------------------------------------------------------
    def _process(self, entries: list[StreamEntry]) -> int:
        if not entries:
            return 0
        s = self._s
        marks = [f"{self._mark_prefix}{e.entry_id}" for e in entries]
        todo = [e for e, m in zip(entries, marks, strict=True) if self._state.get(m) is None]
        if todo:
            try:
                self._handler.handle([e.payload for e in todo])
            except Exception:
                if not self._give_up(todo):
                    self._recovering = True  # retried from the pending list on the next poll
                    raise
            else:
                for e in todo:
                    self._state.set(f"{self._mark_prefix}{e.entry_id}", b"1", ttl_s=s.mark_ttl_s)
                self.applied += len(todo)
        self.skipped += len(entries) - len(todo)
        self.stream.ack(self.group, [e.entry_id for e in entries])
        for m in marks:  # acknowledged entries are never delivered again: their marks are done
            self._state.delete(m)
        for e in entries:
            self._attempts.pop(e.entry_id, None)
        with self._progress:
            self.acked_through = max(self.acked_through, *(entry_key(e.entry_id) for e in entries))
            self._progress.notify_all()
        return len(entries)

    def _give_up(self, entries: list[StreamEntry]) -> bool:
        """Count a failed attempt; True when the batch has failed max_attempts times and is dropped."""
        tries = 1 + max(self._attempts.get(e.entry_id, 0) for e in entries)
        for e in entries:
            self._attempts[e.entry_id] = tries
        if tries < self._s.max_attempts:
            return False
        log.error("%s/%s: dropping %d entries after %d failed attempts (handler %s)", self.group,
                  self.consumer, len(entries), tries, self._handler.name, exc_info=True)
        self.dropped += len(entries)
        return True
