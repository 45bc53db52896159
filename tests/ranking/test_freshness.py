"""Freshness: a young post with few exposures gets a bounded exploration boost, and a brand-new
creator's first post reaches people who like its topic."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from reelrank.config import PolicySettings, RealtimeSettings, ScoreWeights, SurfacePolicies
from reelrank.domain import EventKind, Surface, User
from reelrank.engine import Engine
from reelrank.features.popularity import PopularityFeatures
from reelrank.features.post_counters import PostCounters
from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.ranking.formula_scorer import FormulaScorer
from reelrank.serving.app import create_app
from tests.conftest import make_settings
from tests.features.test_post_counters import batch
from tests.serving.helpers import CAPTIONS, event, feed, post, user
from tests.trends.helpers import NOW, make_rig, row


class ZeroVectors:
    def vectors(self, pids: np.ndarray) -> np.ndarray:
        return np.zeros((len(pids), 4), dtype=np.float32)


def score(scorer: FormulaScorer, pids: list[int], now: float) -> dict[str, np.ndarray]:
    ctx = FeedContext(uid=1, user=User(user_id="v"), surface=Surface.REELS, page_size=10, now=now, session_id="s",
                      query=None, session=[], following=set(), hidden_creators=set(),
                      seen=np.zeros(0, dtype=np.int64), served=np.zeros(0, dtype=np.int64))
    cands = Candidates(np.asarray(pids, dtype=np.int64), np.zeros(len(pids), dtype=np.uint32))
    scorer.score(ctx, cands)
    return cands.columns


def test_exploration_boost_is_bounded_and_fades_with_age_and_exposures() -> None:
    rig = make_rig()
    rig.catalogue.upsert([row(10, 500, ["cooking"], NOW - 60), row(11, 500, ["cooking"], NOW - 60),
                          row(12, 500, ["cooking"], NOW - 1800)])
    counters = PostCounters(rig.state)
    w = ScoreWeights(exploration=0.3, explore_max_age_s=3600.0, explore_exposures=50.0)
    scorer = FormulaScorer(ZeroVectors(), PopularityFeatures(), rig.catalogue, w, counters)
    counters.apply(batch(*[(11, EventKind.IMPRESSION, NOW, {})] * 150), NOW)
    cols = score(scorer, [10, 11, 12, 1], NOW)
    explore = cols["exploration"]
    assert explore[0] == pytest.approx(1 - 60 / 3600)  # new, never shown: (almost) the full boost
    assert explore[1] == pytest.approx(explore[0] * 50 / 200)  # shown 150 times: a quarter of it
    assert explore[2] == pytest.approx(0.5)  # half way through the exploration age
    assert explore[3] == 0.0  # an hour old
    assert ((explore >= 0) & (explore <= 1)).all()
    assert (cols["score"] <= w.similarity + w.popularity + w.freshness + w.following + w.engagement * 0.5
            + w.trending + w.exploration).all()


def engine_client(tmp_path: Path, exploration: float, fresh_share: float) -> TestClient:
    settings = make_settings(tmp_path / "data", realtime=RealtimeSettings(drain="sync"),
                             score=ScoreWeights(exploration=exploration),
                             policy=SurfacePolicies(reels=PolicySettings(fresh_share=fresh_share)))
    return TestClient(create_app(Engine(settings), own_engine=True))


def rookie_on_first_page(c: TestClient) -> dict | None:
    """An established, 2-day-old catalogue with an audience; a cooking fan; a brand-new creator's first
    cooking post. Returns the post's item on the fan's first page, if it is there."""
    old = time.time() - 2 * 86400
    for topic in CAPTIONS:
        for j in range(3):
            user(c, f"c_{topic}_{j}")
        for i in range(20):
            post(c, f"{topic}{i}", f"c_{topic}_{i % 3}", topic, created_at=old)
    user(c, "fan")
    for i in range(30):
        user(c, f"crowd{i}")
    crowd = [event(f"crowd{i}", f"{t}{j}", "like") for i in range(30) for t in CAPTIONS for j in range(i % 5, 20, 5)]
    c.post("/v1/events", json={"events": crowd[:1000]})
    c.post("/v1/events", json={"events": [event("fan", f"cooking{i}", "like") for i in range(4)]})
    user(c, "rookie")  # no followers, no history
    post(c, "rookie-first", "rookie", "cooking")
    page = feed(c, "fan", page_size=10, explain="true")
    return next((i for i in page["items"] if i["post_id"] == "rookie-first"), None)


@pytest.mark.parametrize(("exploration", "fresh_share"), [(0.3, 0.1), (0.3, 0.0)], ids=["defaults", "no-fresh-slot"])
def test_a_new_creators_first_post_is_not_invisible(tmp_path: Path, exploration: float, fresh_share: float) -> None:
    with engine_client(tmp_path, exploration, fresh_share) as c:
        hit = rookie_on_first_page(c)
    assert hit is not None and "fresh" in hit["sources"]
    assert hit["explanation"]["signals"]["exploration"] > 0.9


def test_without_exploration_or_a_fresh_slot_the_rookie_is_outranked(tmp_path: Path) -> None:
    # The control: it is the boost (or the policy's fresh slot) that gets the rookie seen.
    with engine_client(tmp_path, 0.0, 0.0) as c:
        assert rookie_on_first_page(c) is None
