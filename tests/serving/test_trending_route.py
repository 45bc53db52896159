"""GET /v1/trending: the trending pool per topic, as the inspector shows it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reelrank.config import RealtimeSettings
from reelrank.engine import Engine
from reelrank.serving.app import create_app
from tests.conftest import make_settings
from tests.serving.helpers import event, post, user, world


@pytest.fixture
def sync_client(tmp_path: Path) -> Iterator[TestClient]:
    engine = Engine(make_settings(tmp_path / "data", realtime=RealtimeSettings(drain="sync")))
    with TestClient(create_app(engine, own_engine=True)) as c:
        yield c


def _burst(c: TestClient, post_id: str, fans: int = 30) -> None:
    events = [event(f"fan{i}", post_id, kind) for i in range(fans) for kind in ("like", "share")]
    assert c.post("/v1/events", json={"events": events}).status_code == 200


def test_empty_pool(sync_client: TestClient) -> None:
    body = sync_client.get("/v1/trending").json()
    assert body["topics"] == [] and body["enabled"] is True and body["threshold"] > 0
    only = sync_client.get("/v1/trending", params={"topic": "travel"}).json()
    assert only["topics"] == [{"topic": "travel", "total": 0, "posts": []}]


def test_burst_shows_per_topic_with_velocity_ratio_and_entry_time(sync_client: TestClient) -> None:
    c = sync_client
    world(c, per_topic=3)
    user(c, "newcomer")
    post(c, "beach-viral", "newcomer", "travel")
    post(c, "pasta-viral", "newcomer", "cooking")
    for i in range(30):
        user(c, f"fan{i}")
    before = time.time()
    _burst(c, "beach-viral")
    _burst(c, "pasta-viral", fans=25)
    body = c.get("/v1/trending").json()
    by_topic = {g["topic"]: g for g in body["topics"]}
    assert set(by_topic) == {"travel", "cooking"}
    [hit] = by_topic["travel"]["posts"]
    assert hit["post_id"] == "beach-viral" and hit["creator_id"] == "newcomer" and hit["topics"] == ["travel"]
    assert hit["ratio"] >= body["threshold"] and hit["velocity"] >= 60  # 30 likes + 30 shares, at least
    assert before - 1 <= hit["entered_at"] <= time.time() < hit["expires_at"]
    assert by_topic["travel"]["total"] == 1
    only = c.get("/v1/trending", params={"topic": "cooking"}).json()["topics"]
    assert [g["topic"] for g in only] == ["cooking"] and only[0]["posts"][0]["post_id"] == "pasta-viral"


def test_limit_caps_posts_per_topic_hottest_first(sync_client: TestClient) -> None:
    c = sync_client
    user(c, "newcomer")
    for i in range(30):
        user(c, f"fan{i}")
    for name, fans in (("a", 30), ("b", 25), ("c", 28)):
        post(c, name, "newcomer", "travel")
        _burst(c, name, fans)
    [group] = c.get("/v1/trending", params={"limit": 2}).json()["topics"]
    assert group["total"] == 3 and len(group["posts"]) == 2
    ratios = [p["ratio"] for p in group["posts"]]
    assert ratios == sorted(ratios, reverse=True)
    assert c.get("/v1/trending", params={"limit": 0}).status_code == 422
