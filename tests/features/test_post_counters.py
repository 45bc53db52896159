"""Per-post sliding-window counters, derived rates, and creator baselines, on a fixed clock."""

from __future__ import annotations

import numpy as np
import pytest

from reelrank.domain import Event, EventKind
from reelrank.features.creator_baselines import CreatorBaselines
from reelrank.features.post_counters import COL, PostCounters
from reelrank.features.windowed_counters import WindowedCounters
from reelrank.state.online.memory import MemoryOnlineState
from reelrank.stream.event_codec import decode_events, encode_events

NOW = 1_800_057_600.0  # a multiple of 86400: every window's bucket starts here


def batch(*rows: tuple[int, EventKind, float, dict]) -> np.ndarray:
    items = []
    for i, (pid, kind, ts, extra) in enumerate(rows):
        e = Event(event_id=f"e{i}", user_id="u", post_id=f"p{pid}", kind=kind, ts=ts, **extra)
        items.append((e, 1, pid))
    return decode_events(encode_events(items))


def test_each_kind_lands_in_its_column_and_window() -> None:
    pc = PostCounters(MemoryOnlineState())
    full = {"watch_ms": 10_000, "duration_ms": 10_000}
    pc.apply(batch((1, EventKind.IMPRESSION, NOW, {}), (1, EventKind.VIEW, NOW, full),
                   (1, EventKind.VIEW, NOW, {"watch_ms": 500, "duration_ms": 10_000}), (1, EventKind.LIKE, NOW, {}),
                   (1, EventKind.SHARE, NOW, {}), (1, EventKind.SAVE, NOW, {}), (1, EventKind.COMMENT, NOW, {}),
                   (1, EventKind.SKIP, NOW, {}), (1, EventKind.NOT_INTERESTED, NOW, {}), (1, EventKind.HIDE, NOW, {}),
                   (2, EventKind.LIKE, NOW - 120, {}), (2, EventKind.REPORT, NOW, {})), NOW)
    c = pc.counts(np.array([1, 2, 3]), 60.0, NOW + 1)
    row = dict(zip(("impressions", "views", "completions", "likes", "shares", "saves", "comments", "skips",
                    "not_interested"), c[0].tolist(), strict=True))
    assert row == {"impressions": 1, "views": 2, "completions": 1, "likes": 1, "shares": 1, "saves": 1,
                   "comments": 1, "skips": 1, "not_interested": 2}
    assert c[1].sum() == 0 and c[2].sum() == 0  # 2 minutes ago is outside the 1-minute window; reports not counted
    # in the previous 5-minute (and day) bucket: counted at the share of that bucket still in the window
    assert pc.counts(np.array([2]), 300.0, NOW + 1)[0, COL["likes"]] == pytest.approx(299 / 300)
    assert pc.counts(np.array([2]), 86400.0, NOW + 1)[0, COL["likes"]] == pytest.approx(1.0, abs=1e-4)


def test_window_slides_with_interpolation() -> None:
    w = WindowedCounters(MemoryOnlineState(), "t", 1, (60.0,))
    ids = np.zeros(60, dtype=np.int64)
    w.add(ids, ids, np.ones(60, dtype=np.int64), NOW + np.arange(60) + 0.5, NOW + 60)  # one event a second
    assert w.counts(np.array([0]), 60.0, NOW + 59.999)[0, 0] == pytest.approx(60, abs=0.01)
    # 15 s into the next minute the previous bucket counts for 3/4: exact for evenly spread events
    assert w.counts(np.array([0]), 60.0, NOW + 75)[0, 0] == pytest.approx(45)
    assert w.counts(np.array([0]), 60.0, NOW + 125)[0, 0] == 0


def test_old_and_future_events() -> None:
    pc = PostCounters(MemoryOnlineState())
    pc.apply(batch((5, EventKind.LIKE, NOW - 3 * 86400, {}), (5, EventKind.LIKE, NOW + 999, {})), NOW)
    assert pc.counts(np.array([5]), 60.0, NOW)[0, COL["likes"]] == 1  # future clock counts as now
    assert pc.counts(np.array([5]), 86400.0, NOW)[0, COL["likes"]] == 1  # three days ago counts nowhere


def test_rates_are_smoothed_and_engagement_centred() -> None:
    pc = PostCounters(MemoryOnlineState())
    rows = [(1, EventKind.VIEW, NOW, {"watch_ms": 9500, "duration_ms": 10_000})] * 200
    rows += [(1, EventKind.LIKE, NOW, {})] * 60 + [(2, EventKind.VIEW, NOW, {"watch_ms": 100, "duration_ms": 10_000})]
    rows += [(2, EventKind.SKIP, NOW, {})] + [(3, EventKind.VIEW, NOW, {"watch_ms": 10, "duration_ms": 10_000})] * 200
    rows += [(3, EventKind.SKIP, NOW, {})] * 200
    pc.apply(batch(*rows), NOW)
    r = pc.rates(np.array([1, 2, 3, 4]), 3600.0, NOW)
    assert r["exposures"].tolist() == [200, 1, 200, 0]
    assert r["like_rate"][0] == pytest.approx((60 + 20 * 0.05) / 220)
    assert r["skip_rate"][1] < 0.5  # one skip out of one view is not a 100% skip rate
    e = pc.engagement(np.array([1, 2, 3, 4]), 3600.0, NOW)
    assert e[3] == pytest.approx(0.5)  # no data: typical
    assert e[0] == 1.0 and e[2] < 0.3 and 0.3 < e[1] < 0.5


def test_creator_baseline_is_per_post_per_five_minutes() -> None:
    state = MemoryOnlineState()
    b = CreatorBaselines(state, window_s=86400.0, period_s=300.0)
    # creator 10: 4 posts x 288 units over the day (1 per post per 5 minutes); creator 11: nothing
    pids = np.repeat(np.arange(1, 5), 288)
    ts = NOW + np.tile(np.arange(288) * 300.0, 4)
    b.apply(pids, np.full(len(pids), 10), np.ones(len(pids), dtype=np.int64), ts, NOW + 86399)
    got = b.per_post(np.array([10, 11]), NOW + 86399)
    assert got[0] == pytest.approx(1.0, rel=0.01) and got[1] == 0.0
