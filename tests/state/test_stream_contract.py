"""Contract tests for `EventStream`: every implementation passes the same suite.

A factory returns `open_stream()`: each call gives a handle on the same stream, as a restarted
consumer process would get (the in-process stream returns the same object; Redis a new client on
the same key). Redis streams use a key unique to the run and the test, deleted afterwards; they fail
under CI and skip locally when Redis is unreachable (tests/state/services.py).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reelrank.state.stream.base import EventStream
from tests.state import services

MAXLEN = 100
Opener = Callable[[], EventStream]
_counter = itertools.count()


def _memory() -> tuple[Opener, Callable[[], None]]:
    from reelrank.state.stream.memory import MemoryEventStream

    stream = MemoryEventStream(maxlen=MAXLEN)
    return (lambda: stream), lambda: None


def _redis() -> tuple[Opener, Callable[[], None]]:
    from reelrank.state.stream.redis import RedisEventStream

    url = services.require_redis()
    key = f"rr-test:{services.RUN_TOKEN}:stream:{next(_counter)}"
    opened: list[RedisEventStream] = []

    def open_stream() -> EventStream:
        opened.append(RedisEventStream(url, key, maxlen=MAXLEN))
        return opened[-1]

    def cleanup() -> None:
        if opened:
            opened[0].delete()
        for s in opened:
            s.close()

    return open_stream, cleanup


FACTORIES: dict[str, Callable[[], tuple[Opener, Callable[[], None]]]] = {"memory": _memory, "redis": _redis}


@pytest.fixture(params=sorted(FACTORIES))
def open_stream(request: pytest.FixtureRequest) -> Iterator[Opener]:
    opener, cleanup = FACTORIES[request.param]()
    yield opener
    cleanup()


@pytest.fixture
def stream(open_stream: Opener) -> EventStream:
    return open_stream()


def order_key(entry_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in entry_id.split("-"))


def payloads(entries: Any) -> list[bytes]:
    return [e.payload for e in entries]


def test_every_implementation_has_every_protocol_method() -> None:
    from reelrank.state.stream.memory import MemoryEventStream
    from reelrank.state.stream.redis import RedisEventStream

    ops = {n for n, v in vars(EventStream).items() if callable(v) and not n.startswith("_")}
    for impl in (MemoryEventStream, RedisEventStream):
        assert ops <= set(dir(impl)), f"{impl.__name__} lacks {sorted(ops - set(dir(impl)))}"


def test_append_orders_ids_and_round_trips_bytes(stream: EventStream) -> None:
    stream.ensure_group("g")
    ids = stream.append([b"a", b"\x00\xff binary", b"c"])
    ids += stream.append([b"d"])
    assert stream.append([]) == []
    assert len(set(ids)) == 4
    assert [order_key(i) for i in ids] == sorted(order_key(i) for i in ids)
    got = stream.read("g", "c1", count=10)
    assert [e.entry_id for e in got] == ids
    assert payloads(got) == [b"a", b"\x00\xff binary", b"c", b"d"]
    assert stream.length() == 4


def test_each_group_gets_every_entry_once(stream: EventStream) -> None:
    stream.ensure_group("features")
    stream.ensure_group("trends")
    stream.ensure_group("features")  # idempotent
    stream.append([b"1", b"2", b"3", b"4", b"5"])
    a = stream.read("features", "a", count=2)
    b = stream.read("features", "b", count=10)
    assert payloads(a) + payloads(b) == [b"1", b"2", b"3", b"4", b"5"]  # split, no overlap
    assert stream.read("features", "a", count=10) == []
    assert payloads(stream.read("trends", "x", count=10)) == [b"1", b"2", b"3", b"4", b"5"]
    stream.append([b"6"])
    assert payloads(stream.read("features", "b", count=10)) == [b"6"]
    assert payloads(stream.read("trends", "x", count=10)) == [b"6"]


def test_group_from_start_or_from_now(stream: EventStream) -> None:
    stream.append([b"old"])
    stream.ensure_group("all", from_start=True)
    stream.ensure_group("new", from_start=False)
    stream.append([b"later"])
    assert payloads(stream.read("all", "c", count=10)) == [b"old", b"later"]
    assert payloads(stream.read("new", "c", count=10)) == [b"later"]


def test_pending_reread_after_restart_until_acked(open_stream: Opener) -> None:
    first = open_stream()
    first.ensure_group("g")
    first.append([b"1", b"2", b"3"])
    got = first.read("g", "worker-1", count=10)
    assert first.ack("g", [got[0].entry_id]) == 1
    # the consumer "crashes"; its replacement (same name, new handle) finishes what was delivered
    again = open_stream()
    again.ensure_group("g")
    pending = again.read_pending("g", "worker-1", count=10)
    assert payloads(pending) == [b"2", b"3"]
    assert [e.entry_id for e in pending] == [e.entry_id for e in got[1:]]
    assert again.read_pending("g", "worker-2", count=10) == []  # pending is per consumer
    assert again.read("g", "worker-1", count=10) == []  # nothing new: pending is not re-delivered by `read`
    assert again.ack("g", [e.entry_id for e in pending]) == 2
    assert again.read_pending("g", "worker-1", count=10) == []


def test_ack_counts_only_pending_entries(stream: EventStream) -> None:
    stream.ensure_group("g")
    ids = stream.append([b"1", b"2"])
    stream.read("g", "c", count=1)
    assert stream.ack("g", []) == 0
    assert stream.ack("g", [ids[1]]) == 0  # never delivered, so not pending
    assert stream.ack("g", [ids[0]]) == 1
    assert stream.ack("g", [ids[0]]) == 0  # twice: already acknowledged


def test_claim_stale_takes_over_idle_entries(stream: EventStream) -> None:
    stream.ensure_group("g")
    stream.append([b"1", b"2", b"3"])
    dead = stream.read("g", "dead", count=10)
    assert stream.claim_stale("g", "alive", min_idle_ms=60_000, count=10) == []  # not idle long enough
    time.sleep(0.12)
    claimed = stream.claim_stale("g", "alive", min_idle_ms=100, count=2)
    assert [e.entry_id for e in claimed] == [e.entry_id for e in dead[:2]]
    assert payloads(claimed) == [b"1", b"2"]
    # claimed entries now belong to "alive": its pending list has them, the dead one's does not
    assert payloads(stream.read_pending("g", "alive", count=10)) == [b"1", b"2"]
    assert payloads(stream.read_pending("g", "dead", count=10)) == [b"3"]
    stream.ack("g", [e.entry_id for e in claimed])
    assert stream.read_pending("g", "alive", count=10) == []


def test_read_on_empty_returns_nothing(stream: EventStream) -> None:
    stream.ensure_group("g")
    assert stream.read("g", "c", count=10) == []
    t = time.perf_counter()
    assert stream.read("g", "c", count=10, block_ms=50) == []
    assert time.perf_counter() - t < 5.0  # a short block returns, it does not hang
    assert stream.read_pending("g", "c", count=10) == []


def test_length_stays_bounded(stream: EventStream) -> None:
    stream.ensure_group("g")
    for i in range(0, 1000, 50):
        stream.append([str(j).encode() for j in range(i, i + 50)])
    # Redis trims with MAXLEN ~ (whole nodes of up to 100 entries), so up to one node of slack.
    assert MAXLEN <= stream.length() <= MAXLEN + 100
    got = stream.read("g", "c", count=10_000)
    assert len(got) == stream.length()
    assert got[-1].payload == b"999"  # the newest entries are the ones kept


def test_trimmed_pending_entries_are_dropped(stream: EventStream) -> None:
    stream.ensure_group("g")
    stream.append([b"early-1", b"early-2"])
    assert len(stream.read("g", "slow", count=10)) == 2
    for i in range(0, 1000, 100):
        stream.append([b"x%d" % j for j in range(i, i + 100)])
    # the two delivered entries were trimmed before being acked: nothing to re-read or claim
    assert stream.read_pending("g", "slow", count=10) == []
    time.sleep(0.01)
    assert stream.claim_stale("g", "other", min_idle_ms=0, count=10) == []


def test_lag_counts_undelivered_and_unacked(stream: Any) -> None:
    # lag() is introspection outside the Protocol (XINFO GROUPS); both implementations have it.
    stream.ensure_group("g")
    stream.append([b"1", b"2", b"3"])
    assert stream.lag("g") == 3
    got = stream.read("g", "c", count=2)
    assert stream.lag("g") == 3  # two delivered, still pending, plus one undelivered
    stream.ack("g", [e.entry_id for e in got])
    assert stream.lag("g") == 1


def test_unknown_group_is_a_lookup_error(stream: EventStream) -> None:
    stream.append([b"1"])
    with pytest.raises(LookupError):
        stream.read("nobody", "c", count=10)
    with pytest.raises(LookupError):
        stream.read_pending("nobody", "c", count=10)
    with pytest.raises(LookupError):
        stream.claim_stale("nobody", "c", min_idle_ms=0, count=10)
