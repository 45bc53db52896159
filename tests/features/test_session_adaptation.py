"""Session adaptation through the API, with a simulated person who abruptly changes taste.

The retrieval query blends the long-term interest vector with the session vector (the last actions),
so after a switch the new topic should take over the page within a few pages of interactions; with
the session vector switched off (session_weight 0) the long-term vector holds the feed back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import faiss
import pytest
from fastapi.testclient import TestClient

from reelrank.config import InterestSettings, PolicySettings, RealtimeSettings, SourceSettings, SurfacePolicies
from reelrank.engine import Engine
from reelrank.serving.app import create_app
from reelrank.simulation.agent import SimulatedUser
from reelrank.simulation.population import load_world
from reelrank.simulation.world import World, single_interest_world
from tests.conftest import make_settings

PAGES_AFTER = 6


@pytest.fixture(scope="module")
def small_world() -> World:
    return single_interest_world("cooking", n_posts=800, n_topics=4, n_users=20, n_creators=40, now=time.time())


def shares_after_switch(tmp_path: Path, world: World, session_weight: float) -> tuple[list[float], list[float]]:
    """(cooking share per page before, football share per page after the switch) for the cooking fan."""
    # Deterministic pages: no random exploration slots, aggregates applied before each ingest call
    # returns, a generous source deadline (on a busy machine a late source would change the page).
    settings = make_settings(tmp_path / f"sw{session_weight}", interest=InterestSettings(session_weight=session_weight),
                             sources=SourceSettings(deadline_ms=2000.0), realtime=RealtimeSettings(drain="sync"),
                             policy=SurfacePolicies(reels=PolicySettings(exploration_share=0.0)))
    with TestClient(create_app(Engine(settings), own_engine=True)) as client:
        load_world(client, world, progress=False)
        agent = SimulatedUser.from_world(client, world, world.focus_viewer_id, seed=2)
        before = agent.run_session(n_pages=4, page_size=10)
        agent.switch_interest("football")
        after = []
        for _ in range(PAGES_AFTER):  # one page per request; every page's events are sent before the next
            report = agent.run_session(n_pages=1, page_size=10)
            after.append(sum(i.topic == "football" for i in report.items) / max(len(report.items), 1))
    return before.topic_share_per_page, after


@pytest.fixture
def one_faiss_thread() -> Iterator[None]:
    """HNSW inserts in parallel build a slightly different graph each run; one thread makes it repeatable."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.mark.usefixtures("one_faiss_thread")
def test_new_topic_takes_over_within_a_few_pages(tmp_path: Path, small_world: World) -> None:
    before, after = shares_after_switch(tmp_path, small_world, session_weight=0.6)
    assert before[-1] >= 0.6, before  # the feed had learned "cooking"
    assert after[0] <= 0.2, after  # right after the switch the page is still the old taste
    assert max(after[1:4]) >= 0.3, after  # 10-30 interactions later football holds a good part of the page
    assert after[-1] >= 0.5, after  # and after 50 it leads
    _, without_session = shares_after_switch(tmp_path, small_world, session_weight=0.0)
    assert sum(after[1:]) >= sum(without_session[1:]) + 0.8, (after, without_session)
