"""The trending source: pool posts weighted by the viewer's topics; a few, never the whole page."""

from __future__ import annotations

import numpy as np

from reelrank.domain import Surface, User
from reelrank.pipeline.context import FeedContext
from reelrank.retrieval.trending_source import TrendingSource
from tests.trends.helpers import NOW, make_rig, row


def ctx(interests: set[int] | None = None) -> FeedContext:
    return FeedContext(uid=7, user=User(user_id="v"), surface=Surface.REELS, page_size=10, now=NOW,
                       session_id="s", query=None, session=[], following=set(), hidden_creators=set(),
                       seen=np.zeros(0, dtype=np.int64), served=np.zeros(0, dtype=np.int64),
                       interest_topics=interests or set())


def test_weights_follow_topic_overlap() -> None:
    rig = make_rig()
    rig.catalogue.upsert([row(5, 300, ["travel"], NOW), row(6, 301, ["gaming"], NOW)])
    rig.pool.add([1, 2, 5, 6], [["cooking"], ["football"], ["travel"], ["gaming"]], [9.0, 9.0, 9.0, 9.0], NOW)
    affinity = {"cooking": 2.0, "football": -1.0, "gaming": 0.5}
    src = TrendingSource(rig.pool, rig.catalogue, lambda uid, now: affinity, k=10, interest_weight=0.7,
                         global_weight=0.1)
    travel = rig.catalogue.topics.find("travel")
    got = src.retrieve(ctx({travel}))
    scores = dict(zip(got.pids.tolist(), got.scores.tolist(), strict=True))
    # cooking (strongest affinity) > travel (onboarding interest) > gaming (weak affinity) > football
    # (pushed away: only the small global weight every trending post gets)
    assert scores[1] > scores[5] > scores[6] > scores[2] > 0
    assert scores[2] <= 0.1 + 1e-6
    assert TrendingSource(rig.pool, rig.catalogue, lambda uid, now: affinity, k=2).retrieve(ctx()).pids.tolist() \
        == [1, 6]


def test_cold_viewer_gets_global_trends_and_empty_pool_gives_nothing() -> None:
    rig = make_rig()
    src = TrendingSource(rig.pool, rig.catalogue, lambda uid, now: {}, k=5)
    assert len(src.retrieve(ctx()).pids) == 0
    rig.pool.add([2], [["football"]], [12.0], NOW)
    assert src.retrieve(ctx()).pids.tolist() == [2]
    assert len(TrendingSource(rig.pool, rig.catalogue, lambda uid, now: {}, k=5, global_weight=0.0)
               .retrieve(ctx()).pids) == 0
