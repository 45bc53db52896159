"""`batch()` on Redis: queued writes are sent as one MULTI/EXEC when the block ends (other clients see
all of them or none), a block left by an exception sends nothing, and the fail-open wrapper turns a
failed send into BackendUnavailable (dropped inside best_effort). The behaviour shared with the
in-process state is in test_online_contract.py."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from reelrank.state.online.redis import RedisOnlineState
from reelrank.state.online.redis_guard import BackendUnavailable, GuardedRedisOnlineState
from tests.state import services

_counter = itertools.count()
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


@pytest.fixture
def pair() -> Iterator[tuple[RedisOnlineState, RedisOnlineState]]:
    url = services.require_redis()
    prefix = f"rr-test:{services.RUN_TOKEN}:batch{next(_counter)}"
    writer, reader = RedisOnlineState(url, prefix), RedisOnlineState(url, prefix)
    yield writer, reader
    writer.close()
    reader.close()
    services.delete_keys(prefix + ":")


def test_queued_writes_are_sent_together_at_the_end(pair: tuple[RedisOnlineState, RedisOnlineState]) -> None:
    writer, reader = pair
    writer.set("before", b"0")
    with writer.batch():
        writer.set("k", b"1")
        writer.push_capped("l", [b"a"], maxlen=3)
        writer.zadd("z", {7: 1.0}, maxlen=5)
        writer.hincr("h", {"f": 2.0})
        writer.array_incr("a", np.array([1]), np.array([1]))
        writer.delete("before")
        # nothing sent yet: another client, and this one's own reads, see the state before the block
        assert reader.get("k") is None and reader.get("before") == b"0"
        assert writer.mget(["k", "before"]) == [None, b"0"]
        assert reader.list_range("l", 3) == [] and reader.hgetall("h") == {}
    assert reader.mget(["k", "before"]) == [b"1", None]
    assert reader.list_range("l", 3) == [b"a"] and reader.zmembers_above("z", 0.0) == [7]
    assert reader.hgetall("h") == {"f": 2.0}
    np.testing.assert_array_equal(reader.array_get("a", np.array([1])), [1])


def test_batched_ttls_and_long_argument_lists(pair: tuple[RedisOnlineState, RedisOnlineState]) -> None:
    writer, reader = pair
    n = 2500  # past the script's slices (1,000 list values or sorted-set pairs, 512 BITFIELD increments)
    with writer.batch():
        writer.push_capped("l", [str(i).encode() for i in range(n)], maxlen=3000, ttl_s=60)
        writer.zadd("z", {i: float(i) for i in range(n)}, maxlen=2400, ttl_s=60)
        writer.hincr("h", {f"f{i}": 0.5 for i in range(n)}, ttl_s=60)
        writer.array_incr("a", np.arange(n), np.full(n, 3), ttl_s=60)
        writer.set("k", b"v", ttl_s=60)
        writer.set("p", b"v")
    assert reader.list_range("l", 3000) == [str(i).encode() for i in reversed(range(n))]
    assert sorted(reader.zmembers_above("z", float("-inf"))) == list(range(100, n))
    assert reader.hgetall("h") == {f"f{i}": 0.5 for i in range(n)}
    np.testing.assert_array_equal(reader.array_get("a", np.arange(n + 1)), [3] * n + [0])
    for key in ("l", "z", "h", "a", "k"):
        assert 0 < writer._r.pttl(writer._k(key)) <= 60_000, key
    assert writer._r.pttl(writer._k("p")) == -1  # no TTL


def test_a_block_left_by_an_exception_sends_nothing(pair: tuple[RedisOnlineState, RedisOnlineState]) -> None:
    writer, reader = pair
    with pytest.raises(ValueError, match="boom"), writer.batch():
        writer.set("k", b"1")
        writer.hincr("h", {"f": 1.0})
        raise ValueError("boom")
    assert reader.get("k") is None and reader.hgetall("h") == {}
    writer.set("k", b"2")  # and the thread is no longer in a batch: writes go straight through
    assert reader.get("k") == b"2"


def test_guarded_batch_failure_is_backend_unavailable() -> None:
    state = GuardedRedisOnlineState(DEAD_REDIS, "rr-test:dead", timeout_s=0.5)
    try:
        with pytest.raises(BackendUnavailable), state.batch():
            state.set("k", b"1")  # queued: Redis is not contacted until the block ends
            state.hincr("h", {"f": 1.0})
        assert state.failures == 1 and not state.available
        with pytest.raises(BackendUnavailable), state.batch():
            state.set("k", b"1")  # the breaker is open: refused at once
        assert state.mget(["k", "j"]) == [None, None]  # reads fail open
        state._open_until = 0.0  # close the breaker by hand
        with state.best_effort(), state.batch():  # best effort: the failed send is dropped
            state.set("k", b"1")
        assert state.failures == 2
    finally:
        state.close()
