"""Through the API: a burst of engagement on a small creator's post puts it in the page of a viewer who
cares about its topic, marked as coming from the trending source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reelrank.config import RealtimeSettings
from reelrank.engine import Engine
from reelrank.serving.app import create_app
from tests.conftest import make_settings
from tests.serving.helpers import event, feed, post, user, world


@pytest.fixture
def sync_client(tmp_path: Path) -> Iterator[TestClient]:
    engine = Engine(make_settings(tmp_path / "data", realtime=RealtimeSettings(drain="sync")))
    with TestClient(create_app(engine, own_engine=True)) as c:
        yield c


def test_burst_reaches_a_matching_viewer(sync_client: TestClient) -> None:
    c = sync_client
    world(c, per_topic=15, creators_per_topic=3)
    user(c, "newcomer")
    post(c, "beach-viral", "newcomer", "travel")
    user(c, "traveller", interests=["travel"])
    for i in range(30):
        user(c, f"fan{i}")
    # Before the burst the post is just one of many travel posts: not trending.
    page = feed(c, "traveller", page_size=10)
    assert all("trending" not in i["sources"] for i in page["items"])
    burst = [event(f"fan{i}", "beach-viral", kind) for i in range(30) for kind in ("like", "share")]
    assert c.post("/v1/events", json={"events": burst}).status_code == 200
    page = feed(c, "traveller", page_size=10, explain="true")
    hit = [i for i in page["items"] if i["post_id"] == "beach-viral"]
    assert hit and "trending" in hit[0]["sources"]
    assert hit[0]["explanation"]["signals"]["trending"] == 1.0
