"""Co-engagement neighbour lists, built by the stream handler from encoded event batches."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import numpy as np

from reelrank.domain import Event, EventKind
from reelrank.features.co_engagement import CoEngagement, event_weights
from reelrank.features.interest import SessionAction
from reelrank.features.signals import event_weight
from reelrank.pipeline.context import FeedContext
from reelrank.retrieval.co_engagement_source import CoEngagementSource
from reelrank.state.online.memory import MemoryOnlineState
from reelrank.stream.event_codec import KIND_ORDER, decode_events, encode_events

T0 = 1_800_000_000.0


def _payload(rows: list[tuple[int, int, EventKind]], watch_ms: int | None = None,
             duration_ms: int | None = None) -> bytes:
    items = [(Event(event_id=f"e{i}", user_id=f"u{uid}", post_id=f"p{pid}", kind=kind, ts=T0 + i,
                    watch_ms=watch_ms, duration_ms=duration_ms), uid, pid)
             for i, (uid, pid, kind) in enumerate(rows)]
    return encode_events(items)


def _ctx(pids: list[int]) -> FeedContext:
    # The source reads only the session (newest first).
    return cast(FeedContext, SimpleNamespace(session=[SessionAction(p, 1.0, T0) for p in pids]))


def test_event_weights_match_signals_event_weight() -> None:
    cases = [(None, None), (100, 10_000), (4000, 10_000), (6000, 10_000), (9500, 10_000), (5000, None), (100, None)]
    for kind in KIND_ORDER:
        for watch, dur in cases:
            if kind is EventKind.VIEW and watch is None:
                continue  # refused at ingest (a view needs watch_ms)
            ev = decode_events(_payload([(1, 1, kind)], watch, dur))
            assert event_weights(ev)[0] == np.float64(event_weight(kind, watch, dur)), (kind, watch, dur)


def test_people_who_liked_x_also_liked_y() -> None:
    co = CoEngagement(MemoryOnlineState())
    x, y, z = 10, 20, 30
    co.handle([_payload([(1, x, EventKind.LIKE), (1, y, EventKind.LIKE), (2, x, EventKind.LIKE)])])
    co.handle([_payload([(2, y, EventKind.SHARE), (3, z, EventKind.LIKE), (3, y, EventKind.SKIP)])])
    assert co.neighbours(x) == {y: 2.0}
    assert co.neighbours(y) == {x: 2.0}
    assert co.neighbours(z) == {}  # a skip is not a positive: no pair
    # C likes X: the source, seeded by C's session, proposes Y (and not X itself).
    got = CoEngagementSource(co, k=10).retrieve(_ctx([x]))
    assert got.pids.tolist() == [y] and got.scores[0] > 0


def test_repeat_engagement_adds_no_pairs_and_impressions_count_nothing() -> None:
    co = CoEngagement(MemoryOnlineState())
    co.handle([_payload([(1, 1, EventKind.LIKE), (1, 2, EventKind.LIKE), (1, 2, EventKind.SAVE),
                         (1, 1, EventKind.SHARE), (1, 3, EventKind.IMPRESSION)])])
    assert co.neighbours(1) == {2: 1.0} and co.neighbours(2) == {1: 1.0} and co.neighbours(3) == {}


def test_neighbour_lists_stay_capped_and_pairs_use_only_recent_posts() -> None:
    co = CoEngagement(MemoryOnlineState(), recent=3, neighbours=8)
    # One user likes post 1 and then 50 others: post 1 pairs only with the next `recent` posts.
    co.handle([_payload([(1, p, EventKind.LIKE) for p in range(1, 52)])])
    assert set(co.neighbours(1)) == {2, 3, 4}
    # Many users like post 100 after a post of their own: 100's list never exceeds the cap.
    co.handle([_payload([(u, p, EventKind.LIKE) for u in range(10, 60) for p in (1000 + u, 100)])])
    assert 0 < len(co.neighbours(100)) <= 8


def test_source_merges_seeds_by_recency_and_drops_the_seeds() -> None:
    co = CoEngagement(MemoryOnlineState())
    # Post 1's neighbours: 5 (strong), 2; post 2's neighbours: 6, 1.
    co.handle([_payload([(1, 1, EventKind.LIKE), (1, 5, EventKind.LIKE), (2, 1, EventKind.LIKE),
                         (2, 5, EventKind.LIKE), (3, 2, EventKind.LIKE), (3, 6, EventKind.LIKE),
                         (4, 1, EventKind.LIKE), (4, 2, EventKind.LIKE)])])
    got = CoEngagementSource(co, k=10).retrieve(_ctx([1, 2]))
    assert got.pids.tolist() == [5, 6]  # seeds 1 and 2 dropped; newest seed (1) weighs more
    assert CoEngagementSource(co, k=1).retrieve(_ctx([1, 2])).pids.tolist() == [5]
    assert len(CoEngagementSource(co, k=10).retrieve(_ctx([])).pids) == 0
