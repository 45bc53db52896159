"""Trend detection: velocity over the creator's own per-post baseline, minimum volume, TTL, recency."""

from __future__ import annotations

import numpy as np

from reelrank.trends.trend_detector import TrendRule
from tests.trends.helpers import make_rig


def test_a_burst_on_a_small_creators_post_trends() -> None:
    rig = make_rig()
    rig.likes(1, 10)
    assert rig.trending() == set()  # under min_volume (20)
    rig.clock.t += 60
    rig.likes(1, 15)
    assert rig.trending() == {1}
    assert rig.pool.by_topic(["cooking", "football"], rig.clock.t) == {"cooking": {1: rig.clock.t + 600}}
    assert rig.pool.heat(np.array([1, 2]), rig.clock.t)[0] >= 5.0


def test_steady_engagement_at_the_creators_normal_does_not_trend() -> None:
    rig = make_rig()
    # A big creator whose posts get ~30 likes every 5 minutes, all day long.
    for _ in range(288):
        rig.clock.t += 300
        rig.likes(2, 30)
        rig.likes(3, 30)
    assert 2 not in rig.trending() and 3 not in rig.trending()
    # ... until one of them gets ten times its normal.
    rig.clock.t += 300
    rig.likes(2, 300)
    assert rig.trending() == {2}


def test_old_posts_and_expired_trends() -> None:
    rig = make_rig()
    rig.likes(4, 100)  # five days old: not a trend, however busy
    assert rig.trending() == set()
    rig.likes(1, 40)
    assert rig.trending() == {1}
    rig.clock.t += 601  # ttl passed without being confirmed again
    assert rig.trending() == set()


def test_threshold_and_volume_are_settings() -> None:
    rig = make_rig(TrendRule(threshold=50.0, min_volume=5.0))
    rig.likes(1, 10)
    assert rig.trending() == set()  # 10x the floor baseline, not 50x
    rig.likes(1, 45)
    assert rig.trending() == {1}
