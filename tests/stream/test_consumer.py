"""StreamConsumer: every entry applied exactly once across crashes, restarts, claims and failures.

Runs on the in-process stream and state and, when Redis is reachable, on Redis Streams and Redis: the
consumer is written once against the Protocols. A "restart" is a new StreamConsumer with the same
name on a fresh stream handle; effects live in online state, so they survive it as they would in Redis.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from reelrank.state.online.base import OnlineState
from reelrank.state.online.memory import MemoryOnlineState
from reelrank.state.stream.base import EventStream, entry_key
from reelrank.stream.consumer import ConsumerSettings, StreamConsumer
from tests.state import services

_counter = itertools.count()


@dataclass
class Backend:
    open_stream: Callable[[], EventStream]
    state: OnlineState


def _memory() -> tuple[Backend, Callable[[], None]]:
    from reelrank.state.stream.memory import MemoryEventStream

    stream = MemoryEventStream(maxlen=10_000)
    return Backend(lambda: stream, MemoryOnlineState()), lambda: None


def _redis() -> tuple[Backend, Callable[[], None]]:
    from reelrank.state.online.redis import RedisOnlineState
    from reelrank.state.stream.redis import RedisEventStream

    url = services.require_redis()
    prefix = f"rr-test:{services.RUN_TOKEN}:consumer:{next(_counter)}"
    state = RedisOnlineState(url, prefix)
    opened: list[RedisEventStream] = []

    def open_stream() -> EventStream:
        opened.append(RedisEventStream(url, f"{prefix}:stream", maxlen=10_000))
        return opened[-1]

    def cleanup() -> None:
        for s in opened:
            s.close()
        state.close()
        services.delete_keys(prefix + ":")

    return Backend(open_stream, state), cleanup


FACTORIES = {"memory": _memory, "redis": _redis}


@pytest.fixture(params=sorted(FACTORIES))
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    b, cleanup = FACTORIES[request.param]()
    yield b
    cleanup()


class CountingHandler:
    """Counts each payload in online state; can fail its first `fail` calls (after applying, if asked)."""

    name = "count"

    def __init__(self, state: OnlineState, fail: int = 0, apply_then_fail: bool = False) -> None:
        self.state = state
        self.fail = fail
        self.apply_then_fail = apply_then_fail
        self.calls = 0

    def handle(self, payloads: Sequence[bytes]) -> None:
        self.calls += 1
        if self.fail and not self.apply_then_fail:
            self.fail -= 1
            raise RuntimeError("handler failed")
        self.state.hincr("counts", {p.decode(): 1.0 for p in payloads})
        if self.fail:
            self.fail -= 1
            raise RuntimeError("failed after applying")


class CrashOnAck:
    """A stream whose next ack raises: the process died after applying, before acknowledging."""

    def __init__(self, inner: EventStream) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def ack(self, group: str, entry_ids: Sequence[str]) -> int:
        raise ConnectionError("died before XACK")


FAST = ConsumerSettings(batch=4, block_ms=10, claim_idle_ms=50, claim_every_s=0.0)


def counts(state: OnlineState) -> dict[str, float]:
    return state.hgetall("counts")


def payloads(n: int, start: int = 0) -> list[bytes]:
    return [f"e{i}".encode() for i in range(start, start + n)]


def consumer(b: Backend, name: str, handler: Any, settings: ConsumerSettings = FAST,
             stream: EventStream | None = None) -> StreamConsumer:
    c = StreamConsumer(stream or b.open_stream(), b.state, "g", name, handler, settings)
    c.start()
    return c


def test_entry_ids_order_as_numbers() -> None:
    ids = ["1700000000000-0", "1700000000000-7", "1700000000001-0", "17000000000010-0"]
    assert sorted(ids, key=entry_key) == ids  # "17000000000010-0" sorts last as an id, not as a string


def test_applies_every_entry_once_and_acks(backend: Backend) -> None:
    stream = backend.open_stream()
    stream.ensure_group("g")
    stream.append(payloads(5))
    stream.append(payloads(6, start=5))
    c = consumer(backend, "w1", CountingHandler(backend.state), stream=stream)
    assert c.drain() == 11
    assert counts(backend.state) == {f"e{i}": 1.0 for i in range(11)}
    assert stream.read_pending("g", "w1", 100) == []
    assert c.applied == 11 and c.skipped == 0
    assert c.drain() == 0  # nothing new


def test_crash_after_apply_before_ack_does_not_double_count(backend: Backend) -> None:
    stream = backend.open_stream()
    stream.ensure_group("g")
    first = stream.append(payloads(4))
    crashing = consumer(backend, "w1", CountingHandler(backend.state), stream=CrashOnAck(stream))  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        crashing.poll()
    assert counts(backend.state) == {f"e{i}": 1.0 for i in range(4)}
    # The restarted process (same consumer name) re-reads its pending entries first and skips them.
    stream.append(payloads(2, start=4))
    again = consumer(backend, "w1", CountingHandler(backend.state))
    assert again.drain() == 6
    assert again.skipped == 4 and again.applied == 2
    assert counts(backend.state) == {f"e{i}": 1.0 for i in range(6)}
    assert again.stream.read_pending("g", "w1", 100) == []
    assert all(backend.state.get(f"stream:g:applied:{i}") is None for i in first)  # marks go once acked


def test_crash_before_apply_loses_nothing(backend: Backend) -> None:
    stream = backend.open_stream()
    stream.ensure_group("g")
    stream.append(payloads(5))
    assert len(stream.read("g", "w1", 3)) == 3  # delivered to w1, which died before applying them
    again = consumer(backend, "w1", CountingHandler(backend.state))
    assert again.drain() == 5
    assert counts(backend.state) == {f"e{i}": 1.0 for i in range(5)}


def test_a_live_consumer_claims_what_a_dead_one_left(backend: Backend) -> None:
    stream = backend.open_stream()
    stream.ensure_group("g")
    stream.append(payloads(6))
    assert len(stream.read("g", "dead", 6)) == 6
    alive = consumer(backend, "alive", CountingHandler(backend.state))
    time.sleep(0.1)  # past claim_idle_ms
    assert alive.drain() == 6
    assert counts(backend.state) == {f"e{i}": 1.0 for i in range(6)}
    assert stream.read_pending("g", "dead", 100) == []


def test_a_claimed_entry_that_was_applied_is_not_applied_again(backend: Backend) -> None:
    stream = backend.open_stream()
    stream.ensure_group("g")
    stream.append(payloads(3))
    dying = consumer(backend, "dead", CountingHandler(backend.state), stream=CrashOnAck(stream))  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        dying.poll()  # applied and marked, never acknowledged
    alive = consumer(backend, "alive", CountingHandler(backend.state))
    time.sleep(0.1)
    assert alive.drain() == 3 and alive.skipped == 3 and alive.applied == 0
    assert counts(backend.state) == {f"e{i}": 1.0 for i in range(3)}


def test_out_of_order_application_by_two_consumers_loses_nothing(backend: Backend) -> None:
    # A single "applied up to" watermark would make w1 skip e0..e2 once w2 has applied e3..e5.
    stream = backend.open_stream()
    stream.ensure_group("g")
    stream.append(payloads(3))
    assert len(stream.read("g", "w1", 3)) == 3  # w1 is slow (or restarting)
    stream.append(payloads(3, start=3))
    w2 = consumer(backend, "w2", CountingHandler(backend.state), ConsumerSettings(batch=4, claim_every_s=60))
    assert w2.drain() == 3
    w1 = consumer(backend, "w1", CountingHandler(backend.state))
    assert w1.drain() == 3
    assert counts(backend.state) == {f"e{i}": 1.0 for i in range(6)}


def test_a_failing_batch_is_retried_from_pending(backend: Backend) -> None:
    stream = backend.open_stream()
    stream.ensure_group("g")
    stream.append(payloads(3))
    handler = CountingHandler(backend.state, fail=2)
    c = consumer(backend, "w1", handler, stream=stream)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            c.poll()
    assert counts(backend.state) == {}
    assert c.drain() == 3
    assert counts(backend.state) == {f"e{i}": 1.0 for i in range(3)}


def test_a_poison_batch_is_dropped_after_max_attempts(backend: Backend) -> None:
    stream = backend.open_stream()
    stream.ensure_group("g")
    stream.append(payloads(2))
    c = consumer(backend, "w1", CountingHandler(backend.state, fail=10), stream=stream)
    for _ in range(FAST.max_attempts - 1):
        with pytest.raises(RuntimeError):
            c.poll()
    assert c.poll() == 2  # given up: acknowledged and counted, so the group moves on
    assert c.dropped == 2 and stream.read_pending("g", "w1", 10) == []
    stream.append(payloads(1, start=2))
    c2 = consumer(backend, "w2", CountingHandler(backend.state), stream=stream)
    assert c2.drain() == 1 and counts(backend.state) == {"e2": 1.0}


def test_consumer_thread_applies_and_reports_progress(backend: Backend) -> None:
    stream = backend.open_stream()
    c = consumer(backend, "w1", CountingHandler(backend.state), stream=stream)
    stop = threading.Event()
    t = threading.Thread(target=c.run, args=(stop,), daemon=True)
    t.start()
    try:
        ids = stream.append(payloads(3))
        assert c.wait_acked(entry_key(ids[-1]), timeout_s=10.0)
        assert counts(backend.state) == {f"e{i}": 1.0 for i in range(3)}
    finally:
        stop.set()
        t.join(timeout=5)
