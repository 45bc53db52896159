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
