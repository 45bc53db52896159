from __future__ import annotations

import pytest

from reelrank.features.affinity import AffinityFeatures, AffinityUpdate
from reelrank.state.online.memory import MemoryOnlineState

NOW = 1_800_000_000.0
DAY = 86400.0


def test_positive_and_negative_feedback_and_decay() -> None:
    aff = AffinityFeatures(MemoryOnlineState(clock=lambda: NOW), tau_s=14 * DAY)
    aff.apply([AffinityUpdate(1, ["cooking", "baking"], 7, 1.0, NOW),
               AffinityUpdate(1, ["football"], 8, -2.0, NOW)])
    t = aff.topics(1, NOW)
    assert t["cooking"] == pytest.approx(1.0) and t["baking"] == pytest.approx(0.5)
    assert t["football"] == pytest.approx(-2.0)
    assert aff.creators(1, NOW) == pytest.approx({7: 1.0, 8: -2.0})
    later = aff.topics(1, NOW + 14 * DAY)
    assert later["cooking"] == pytest.approx(1.0 / 2.718281828, rel=1e-6)
    assert aff.topics(2, NOW) == {}
