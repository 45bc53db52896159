"""The serving side's counter-array cache reads what BITFIELD wrote."""

from __future__ import annotations

import time

import numpy as np

from reelrank.config import Settings
from reelrank.state.online.redis import RedisOnlineState
from reelrank.state.online.redis_guard import GuardedRedisOnlineState


def test_cached_array_reads_match_bitfield(server_settings: Settings) -> None:
    assert server_settings.redis_url
    prefix = server_settings.backends.redis_prefix
    writer = RedisOnlineState(server_settings.redis_url, prefix)
    reader = GuardedRedisOnlineState(server_settings.redis_url, prefix, read_cache_s=0.2)
    rng = np.random.default_rng(0)
    offs = rng.integers(0, 5000, 800)
    amounts = rng.integers(1, 1000, 800)
    writer.array_incr("arr", offs, amounts)
    probe = np.concatenate([offs, [0, 4999, 10_000_000]])
    want = writer.array_get("arr", probe)
    assert (reader.array_get("arr", probe) == want).all()
    writer.array_incr("arr", offs[:1], [5])
    time.sleep(0.25)  # past read_cache_s: refreshed
    assert reader.array_get("arr", offs[:1])[0] == want[0] + 5
    assert (reader.array_get("missing", probe) == 0).all()
    writer.close()
    reader.close()


def test_a_command_error_is_not_an_outage(server_settings: Settings) -> None:
    """WRONGTYPE (a bug, not Redis going away): the breaker stays closed, a write raises the error itself
    (never BackendUnavailable, so no 503 and no outbox debt that would re-apply the batch), a read answers
    empty."""
    import pytest
    import redis

    assert server_settings.redis_url
    guard = GuardedRedisOnlineState(server_settings.redis_url, server_settings.backends.redis_prefix)
    try:
        guard.set("s", b"a string")
        with pytest.raises(redis.ResponseError):
            guard.zadd("s", {1: 1.0})  # ZADD on a string
        with pytest.raises(redis.ResponseError), guard.batch():
            guard.hincr("s", {"f": 1.0})
        assert guard.zitems_above("s", 0.0) == {}  # a read: empty, like an unknown key
        assert guard.available and guard.failures == 0
        guard.check()  # still answers: nothing tripped
    finally:
        guard.close()
