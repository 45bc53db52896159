"""Bulk writes of `OnlineState` (set_many, push_capped_many, zadd_many, hincr_many) on memory and Redis:
each equals one single-key call per key, TTLs apply to every key, and on Redis they are sent as one
batch (joining an open one). Uses the contract suite's fixtures (test_online_contract.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from reelrank.state.online.base import OnlineState
from reelrank.state.online.redis_guard import BackendUnavailable, GuardedRedisOnlineState
from tests.state.test_online_batch import DEAD_REDIS, pair  # noqa: F401  (fixture)
from tests.state.test_online_contract import FACTORIES, PAST_TTL_S, TTL_S


@pytest.fixture(params=sorted(FACTORIES))
def state(request: pytest.FixtureRequest) -> Iterator[Any]:
    st, cleanup = FACTORIES[request.param]()
    yield st
    cleanup()


def _snapshot(state: OnlineState, p: str) -> dict[str, Any]:
    return {
        "s": [state.get(f"{p}s{i}") for i in range(3)],
        "l": [state.list_range(f"{p}l{i}", 10) for i in range(3)],
        "z": [sorted(state.zitems_above(f"{p}z{i}", float("-inf")).items()) for i in range(3)],
        "h": [state.hgetall(f"{p}h{i}") for i in range(3)],
    }


def _rounds() -> list[dict[str, Any]]:
    """Two rounds of writes over three keys of each kind: the second adds to what the first left."""
    return [
        {"s": {0: b"a", 1: b"b"}, "l": {0: [b"x", b"y"], 1: [b"z"]}, "z": {0: {1: 1.0, 2: 2.0}, 2: {5: 0.5}},
         "h": {0: {"f": 1.5, "g": -1.0}, 1: {"f": 2.0}}},
        {"s": {1: b"B", 2: b"c"}, "l": {0: [b"w", b"v", b"u"], 2: [b"q"]},
         "z": {0: {3: 3.0, 4: 4.0, 5: 5.0}, 1: {9: 9.0}}, "h": {0: {"f": 1.0}, 2: {"k": 0.25}}},
    ]


def test_bulk_writes_equal_one_call_per_key(state: OnlineState) -> None:
    for r in _rounds():
        for i, v in r["s"].items():
            state.set(f"one:s{i}", v)
        for i, v in r["l"].items():
            state.push_capped(f"one:l{i}", v, maxlen=4)
        for i, v in r["z"].items():
            state.zadd(f"one:z{i}", v, maxlen=3)
        for i, v in r["h"].items():
            state.hincr(f"one:h{i}", v)
        state.set_many({f"bulk:s{i}": v for i, v in r["s"].items()})
        state.push_capped_many({f"bulk:l{i}": v for i, v in r["l"].items()}, maxlen=4)
        state.zadd_many({f"bulk:z{i}": v for i, v in r["z"].items()}, maxlen=3)
        state.hincr_many({f"bulk:h{i}": v for i, v in r["h"].items()})
    one, bulk = _snapshot(state, "one:"), _snapshot(state, "bulk:")
    assert bulk == one
    assert one["s"] == [b"a", b"B", b"c"]
    assert one["l"][0] == [b"u", b"v", b"w", b"y"]  # newest first, capped at 4
    assert one["h"][0] == {"f": 2.5, "g": -1.0}


def test_bulk_writes_inside_a_batch(state: OnlineState) -> None:
    with state.batch():
        state.set_many({"s0": b"1", "s1": b"2"})
        state.push_capped_many({"l0": [b"a"]}, maxlen=2)
        state.zadd_many({"z0": {1: 1.0}})
        state.hincr_many({"h0": {"n": 1.0}, "h1": {"n": 2.0}})
        state.hincr("h0", {"n": 1.0})  # single-key calls in the same block add up with the bulk ones
    assert state.mget(["s0", "s1"]) == [b"1", b"2"]
    assert state.list_range("l0", 5) == [b"a"]
    assert state.zmembers_above("z0", 0.0) == [1]
    assert state.hgetall("h0") == {"n": 2.0} and state.hgetall("h1") == {"n": 2.0}


def test_bulk_writes_of_nothing_are_fine(state: OnlineState) -> None:
    state.set_many({})
    state.push_capped_many({}, maxlen=3)
    state.zadd_many({})
    state.hincr_many({})
    with state.batch():
        state.hincr_many({}, ttl_s=TTL_S)
    assert state.mget(["x"]) == [None]


def test_bulk_ttls_apply_to_every_key(state: OnlineState) -> None:
    state.set("kept", b"0", ttl_s=TTL_S)
    state.set_many({"kept": b"1"})  # no ttl: clears the earlier one, like set
    state.set_many({"s0": b"1", "s1": b"1"}, ttl_s=TTL_S)
    state.push_capped_many({"l0": [b"a"], "l1": [b"b"]}, maxlen=3, ttl_s=TTL_S)
    state.zadd_many({"z0": {1: 1.0}, "z1": {2: 2.0}}, ttl_s=TTL_S)
    state.hincr_many({"h0": {"n": 1.0}, "h1": {"n": 1.0}}, ttl_s=TTL_S)
    assert state.mget(["s0", "s1"]) == [b"1", b"1"]
    time.sleep(PAST_TTL_S)
    assert state.mget(["s0", "s1", "kept"]) == [None, None, b"1"]
    for i in range(2):
        assert state.list_range(f"l{i}", 3) == []
        assert state.zmembers_above(f"z{i}", float("-inf")) == []
        assert state.hgetall(f"h{i}") == {}


def test_redis_bulk_writes_are_one_batch(pair: Any) -> None:  # noqa: F811
    writer, reader = pair
    with writer.batch():
        writer.set_many({"a": b"1", "b": b"2"})
        writer.hincr_many({"h": {"n": 1.0}})
        assert reader.mget(["a", "b"]) == [None, None]  # joined the open batch: nothing sent yet
        assert reader.hgetall("h") == {}
    assert reader.mget(["a", "b"]) == [b"1", b"2"]
    writer.zadd_many({"z": {1: 1.0}, "y": {2: 2.0}}, maxlen=5)  # no batch open: sent at once
    assert reader.zmembers_above("z", 0.0) == [1] and reader.zmembers_above("y", 0.0) == [2]


def test_guarded_bulk_write_failure_is_backend_unavailable() -> None:
    state = GuardedRedisOnlineState(DEAD_REDIS, "rr-test:dead-bulk", timeout_s=0.5)
    try:
        with pytest.raises(BackendUnavailable):
            state.set_many({"k": b"1"})
        assert state.failures == 1 and not state.available
        with pytest.raises(BackendUnavailable):
            state.hincr_many({"h": {"f": 1.0}})  # the breaker is open: refused at once
        state._open_until = 0.0
        with state.best_effort():
            state.zadd_many({"z": {1: 1.0}})  # best effort: dropped
        assert state.failures == 2
    finally:
        state.close()
