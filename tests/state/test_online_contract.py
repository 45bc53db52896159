"""Contract tests for `OnlineState`: the in-process and the Redis implementations pass the same suite.

Redis runs use a key prefix unique to the run and the test, and delete their keys afterwards; they
fail under CI and skip locally when Redis is unreachable (tests/state/services.py). TTL tests sleep
a few hundred milliseconds: both implementations expire by the wall clock.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from reelrank.state.online.base import OnlineState
from reelrank.state.online.memory import MemoryOnlineState
from tests.state import services

_counter = itertools.count()


def _memory() -> tuple[OnlineState, Callable[[], None]]:
    return MemoryOnlineState(), lambda: None


def _redis() -> tuple[OnlineState, Callable[[], None]]:
    from reelrank.state.online.redis import RedisOnlineState

    url = services.require_redis()
    prefix = f"rr-test:{services.RUN_TOKEN}:{next(_counter)}"
    state = RedisOnlineState(url, prefix)

    def cleanup() -> None:
        state.close()
        services.delete_keys(prefix + ":")

    return state, cleanup


FACTORIES: dict[str, Callable[[], tuple[OnlineState, Callable[[], None]]]] = {"memory": _memory, "redis": _redis}
TTL_S, PAST_TTL_S = 0.2, 0.45


@pytest.fixture(params=sorted(FACTORIES))
def state(request: pytest.FixtureRequest) -> Iterator[Any]:
    st, cleanup = FACTORIES[request.param]()
    yield st
    cleanup()


def test_every_implementation_has_every_protocol_method() -> None:
    # Catches an op added to the Protocol (base.py) but not to an adapter, without needing a server.
    from reelrank.state.online.redis import RedisOnlineState

    ops = {n for n, v in vars(OnlineState).items() if callable(v) and not n.startswith("_")}
    for impl in (MemoryOnlineState, RedisOnlineState):
        assert ops <= set(dir(impl)), f"{impl.__name__} lacks {sorted(ops - set(dir(impl)))}"


# strings ---------------------------------------------------------------------------------------------
def test_get_set_delete_round_trips_bytes(state: OnlineState) -> None:
    assert state.get("missing") is None
    vec = np.array([0.5, -1.25, 3e-8, np.nan], dtype=np.float32)
    state.set("v", vec.tobytes())
    got = state.get("v")
    assert got is not None
    np.testing.assert_array_equal(np.frombuffer(got, dtype=np.float32), vec)
    state.set("v", b"\x00\xff")
    assert state.get("v") == b"\x00\xff"
    state.delete("v")
    state.delete("v")  # deleting a missing key is fine
    assert state.get("v") is None


def test_mget_returns_values_in_order_none_where_missing(state: OnlineState) -> None:
    assert state.mget([]) == []
    state.set("a", b"1")
    state.set("b", b"\x00" * 3080)
    state.push_capped("l", [b"x"], maxlen=2)  # not a string: reads as missing, like get()
    assert state.mget(["b", "missing", "a", "l", "a"]) == [b"\x00" * 3080, None, b"1", None, b"1"]


def test_mget_skips_expired_keys(state: OnlineState) -> None:
    state.set("short", b"1", ttl_s=TTL_S)
    state.set("kept", b"2")
    time.sleep(PAST_TTL_S)
    assert state.mget(["short", "kept"]) == [None, b"2"]


def test_swap_many_writes_only_what_is_unchanged(state: OnlineState) -> None:
    state.set("same", b"old")
    state.set("moved", b"old")
    seen = state.mget(["same", "moved", "new", "raced"])  # [b"old", b"old", None, None]
    state.set("moved", b"by another process")
    state.set("raced", b"created meanwhile")
    out = state.swap_many({"same": (seen[0], b"A"), "moved": (seen[1], b"B"), "new": (seen[2], b"C"),
                           "raced": (seen[3], b"D")}, ttl_s=60)
    assert out.done and out.conflicts == {"moved", "raced"}
    assert state.mget(["same", "moved", "new", "raced"]) == [b"A", b"by another process", b"C", b"created meanwhile"]


def test_swap_many_in_a_batch_reports_once_the_batch_is_sent(state: OnlineState) -> None:
    state.set("k", b"v1")
    with state.batch():
        out = state.swap_many({"k": (b"v0", b"x"), "fresh": (None, b"y")})
        state.push_capped("l", [b"a"], maxlen=3)
    assert out.done and out.conflicts == {"k"}
    assert state.mget(["k", "fresh"]) == [b"v1", b"y"] and state.list_range("l", 3) == [b"a"]


def _write_everything(state: OnlineState) -> None:
    state.set("s", b"v", ttl_s=60)
    state.set("gone", b"x")
    state.delete("gone")
    state.push_capped("l", [b"a", b"b", b"c"], maxlen=2, ttl_s=60)
    state.zadd("z", {1: 1.0, 2: 2.0, 3: 3.0}, maxlen=10, ttl_s=60)
    state.hincr("h", {"f": 1.5}, ttl_s=60)
    state.hincr("h", {"f": 1.0, "g": -1.0})
    state.array_incr("a", np.array([4, 4]), np.array([1, 2]), ttl_s=60)
    state.zadd("z2", {5: 0.5, 6: float("inf")})  # no maxlen, no ttl; inf is a valid score
    state.push_capped("l", [], maxlen=2)  # nothing to push: only trims
    state.hincr("h", {})


def _assert_everything(state: OnlineState) -> None:
    assert state.mget(["s", "gone"]) == [b"v", None]
    assert state.list_range("l", 5) == [b"c", b"b"]
    assert sorted(state.zmembers_above("z", 2.0)) == [2, 3]
    assert state.hgetall("h") == {"f": 2.5, "g": -1.0}
    np.testing.assert_array_equal(state.array_get("a", np.array([4])), [3])
    assert state.zitems_above("z2", 0.0) == {5: 0.5, 6: float("inf")}


def test_batch_applies_every_write_by_the_end_of_the_block(state: OnlineState) -> None:
    with state.batch():
        _write_everything(state)
        with state.batch():  # nested: joins the outer batch
            state.hincr("h2", {"n": 1.0})
    _assert_everything(state)
    assert state.hgetall("h2") == {"n": 1.0}
    with state.batch():
        pass  # an empty batch is fine


def test_batch_writes_equal_the_same_writes_unbatched(state: OnlineState) -> None:
    _write_everything(state)
    _assert_everything(state)
    with state.batch():  # the same calls again, batched: they add up the same way
        state.hincr("h", {"f": -2.5, "g": 1.0})
        state.push_capped("l", [b"d"], maxlen=2)
        state.zadd("z", {9: 9.0}, maxlen=3)
    assert state.hgetall("h") == {"f": 0.0, "g": 0.0}
    assert state.list_range("l", 5) == [b"d", b"c"]
    assert sorted(state.zmembers_above("z", float("-inf"))) in ([2, 3, 9], [3, 9])  # memory trims to 90%


def test_batches_in_threads_lose_nothing(state: OnlineState) -> None:
    def work() -> None:
        for _ in range(20):
            with state.batch():
                state.hincr("h", {"n": 1.0})
                state.push_capped("l", [b"x"], maxlen=1000)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.hgetall("h") == {"n": 80.0}
    assert len(state.list_range("l", 1000)) == 80


def test_set_ttl_expires_and_plain_set_clears_it(state: OnlineState) -> None:
    state.set("short", b"1", ttl_s=TTL_S)
    state.set("kept", b"1", ttl_s=TTL_S)
    state.set("kept", b"2")  # no ttl: the key no longer expires
    assert state.get("short") == b"1"
    time.sleep(PAST_TTL_S)
    assert state.get("short") is None
    assert state.get("kept") == b"2"


# capped lists ----------------------------------------------------------------------------------------
def test_push_capped_newest_first_and_bounded(state: OnlineState) -> None:
    assert state.list_range("l", 10) == []
    state.push_capped("l", [b"a", b"b"], maxlen=3)
    state.push_capped("l", [b"c", b"d"], maxlen=3)
    assert state.list_range("l", 10) == [b"d", b"c", b"b"]
    assert state.list_range("l", 2) == [b"d", b"c"]
    assert state.list_range("l", 0) == []
    for i in range(50):
        state.push_capped("l", [str(i).encode()], maxlen=3)
    assert state.list_range("l", 100) == [b"49", b"48", b"47"]


def test_push_capped_ttl(state: OnlineState) -> None:
    state.push_capped("l", [b"x"], maxlen=5, ttl_s=TTL_S)
    assert state.list_range("l", 5) == [b"x"]
    time.sleep(PAST_TTL_S)
    assert state.list_range("l", 5) == []


# sorted sets -----------------------------------------------------------------------------------------
def test_zadd_and_members_above(state: OnlineState) -> None:
    assert state.zmembers_above("z", float("-inf")) == []
    state.zadd("z", {1: 10.0, 2: 20.0, 3: 30.0})
    state.zadd("z", {1: 40.0})  # updates the score
    assert sorted(state.zmembers_above("z", 20.0)) == [1, 2, 3]
    assert sorted(state.zmembers_above("z", 25.0)) == [1, 3]
    assert sorted(state.zmembers_above("z", float("-inf"))) == [1, 2, 3]
    assert state.zmembers_above("z", 1e9) == []


def test_zitems_above_returns_scores(state: OnlineState) -> None:
    state.zadd("z", {7: 1.5, 8: 2.5, 9: -1.0})
    assert state.zitems_above("z", 0.0) == {7: 1.5, 8: 2.5}
    assert state.zitems_above("missing", 0.0) == {}


def test_zadd_maxlen_keeps_highest_scores(state: OnlineState) -> None:
    for start in range(0, 100, 10):
        state.zadd("z", {m: float(m) for m in range(start, start + 10)}, maxlen=20)
    kept = state.zmembers_above("z", float("-inf"))
    # Implementations may trim below maxlen (the in-process one trims to 90% to sort rarely), but
    # never keep more, and what they keep is always the highest scores.
    assert 0 < len(kept) <= 20
    assert sorted(kept) == list(range(100 - len(kept), 100))


def test_zadd_ttl(state: OnlineState) -> None:
    state.zadd("z", {1: 1.0}, ttl_s=TTL_S)
    time.sleep(PAST_TTL_S)
    assert state.zmembers_above("z", float("-inf")) == []


def test_zincr_many_adds_up_and_keeps_highest_totals(state: OnlineState) -> None:
    state.zincr_many({"z": {1: 1.0, 2: 0.5}, "y": {7: 2.0}}, maxlen=10)
    state.zincr_many({"z": {1: 1.5, 3: 0.25}}, maxlen=10)
    assert state.zitems_above("z", float("-inf")) == {1: 2.5, 2: 0.5, 3: 0.25}
    assert state.zitems_above("y", float("-inf")) == {7: 2.0}
    for start in range(0, 100, 10):  # capped like zadd's maxlen: never more, always the highest totals
        state.zincr_many({"c": {m: float(m) for m in range(start, start + 10)}}, maxlen=20)
    kept = state.zmembers_above("c", float("-inf"))
    assert 0 < len(kept) <= 20
    assert sorted(kept) == list(range(100 - len(kept), 100))


def test_zincr_many_in_a_batch_and_ttl(state: OnlineState) -> None:
    with state.batch():
        state.zincr_many({"z": {4: 1.0}}, maxlen=5, ttl_s=TTL_S)
        state.zincr_many({"z": {4: 1.0}}, maxlen=5, ttl_s=TTL_S)
    assert state.zitems_above("z", 0.0) == {4: 2.0}
    time.sleep(PAST_TTL_S)
    assert state.zitems_above("z", float("-inf")) == {}


# hash counters ---------------------------------------------------------------------------------------
def test_hincr_accumulates(state: OnlineState) -> None:
    assert state.hgetall("h") == {}
    state.hincr("h", {"cats": 1.5, "dogs": -0.25})
    state.hincr("h", {"cats": 2.0})
    got = state.hgetall("h")
    assert got.keys() == {"cats", "dogs"}
    assert got["cats"] == pytest.approx(3.5) and got["dogs"] == pytest.approx(-0.25)


def test_hincr_ttl(state: OnlineState) -> None:
    state.hincr("h", {"a": 1.0}, ttl_s=TTL_S)
    time.sleep(PAST_TTL_S)
    assert state.hgetall("h") == {}


def test_concurrent_hincr_loses_nothing(state: OnlineState) -> None:
    def work() -> None:
        for _ in range(50):
            state.hincr("h", {"n": 1.0})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.hgetall("h") == {"n": 200.0}


# counter arrays ----------------------------------------------------------------------------------------
def test_array_counters_add_up_and_default_to_zero(state: OnlineState) -> None:
    off = np.array([3, 0, 3, 100_000], dtype=np.int64)
    np.testing.assert_array_equal(state.array_get("a", off), [0, 0, 0, 0])
    state.array_incr("a", off, np.array([1, 2, 4, 7]))
    state.array_incr("a", np.array([0]), np.array([1]))
    got = state.array_get("a", np.array([0, 1, 3, 100_000, 5_000_000]))
    assert got.dtype == np.uint32
    np.testing.assert_array_equal(got, [3, 0, 5, 7, 0])
    state.array_incr("a", np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert len(state.array_get("a", np.array([], dtype=np.int64))) == 0


def test_array_counters_saturate(state: OnlineState) -> None:
    top = 2**32 - 1
    state.array_incr("a", np.array([1, 1]), np.array([top - 1, 5]))
    state.array_incr("a", np.array([1]), np.array([9]))
    np.testing.assert_array_equal(state.array_get("a", np.array([1])), [top])


def test_array_ttl(state: OnlineState) -> None:
    state.array_incr("a", np.array([2]), np.array([1]), ttl_s=TTL_S)
    time.sleep(PAST_TTL_S)
    np.testing.assert_array_equal(state.array_get("a", np.array([2])), [0])


# keys ------------------------------------------------------------------------------------------------
def test_keys_are_independent(state: OnlineState) -> None:
    state.set("u:1", b"one")
    state.push_capped("u:2", [b"x"], maxlen=2)
    state.zadd("u:3", {1: 1.0})
    state.hincr("u:4", {"f": 1.0})
    state.delete("u:1")
    assert state.list_range("u:2", 2) == [b"x"]
    assert state.zmembers_above("u:3", 0.0) == [1]
    assert state.hgetall("u:4") == {"f": 1.0}
