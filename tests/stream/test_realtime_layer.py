"""The real-time layer in the engine: events reach the aggregate consumers, read-your-writes for the
user's own features, sync and thread draining, and aggregates rebuilt after a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from reelrank.config import RealtimeSettings
from reelrank.engine import Engine
from reelrank.features.post_counters import COL
from reelrank.serving.app import create_app
from tests.conftest import make_settings
from tests.serving.helpers import event, feed, world


def likes_and_views(engine: Engine, post_id: str, now: float) -> tuple[float, float]:
    pid = engine.catalogue.pid_of[post_id]
    c = engine.realtime.counters.counts(np.array([pid]), 3600.0, now)[0]
    return float(c[COL["likes"]]), float(c[COL["views"]])


@pytest.fixture
def sync_client(tmp_path: Path) -> Iterator[TestClient]:
    engine = Engine(make_settings(tmp_path / "data", realtime=RealtimeSettings(drain="sync")))
    with TestClient(create_app(engine, own_engine=True)) as c:
        yield c


def test_thread_mode_applies_aggregates_just_after_ingest(client: TestClient, engine: Engine) -> None:
    world(client, per_topic=4)
    evs = [event("alice", "cooking1", "view", watch_ms=15000, duration_ms=15000), event("alice", "cooking1", "like"),
           event("bob", "cooking1", "like")]
    assert client.post("/v1/events", json={"events": evs}).json() == {"accepted": 3, "duplicates": 0}
    # The user's own features are there when the call returns: the next page does not repeat the post.
    assert "cooking1" not in {i["post_id"] for i in feed(client, "alice", page_size=10)["items"]}
    assert engine.realtime.wait_applied(timeout_s=10)
    assert likes_and_views(engine, "cooking1", time.time()) == (2.0, 1.0)
    # Duplicates are not published again.
    assert client.post("/v1/events", json={"events": evs}).json() == {"accepted": 0, "duplicates": 3}
    assert engine.realtime.wait_applied(timeout_s=10)
    assert likes_and_views(engine, "cooking1", time.time()) == (2.0, 1.0)
    stats = engine.realtime.stats()
    assert stats["published_events"] == 3
    assert stats["consumers"]["features"]["applied"] == 1 and stats["consumers"]["features"]["lag"] == 0


def test_sync_mode_applies_aggregates_before_the_call_returns(sync_client: TestClient) -> None:
    engine: Engine = sync_client.app.state.engine  # type: ignore[attr-defined]
    world(sync_client, per_topic=3)
    sync_client.post("/v1/events", json={"events": [event("alice", "football2", "like")]})
    assert likes_and_views(engine, "football2", time.time()) == (1.0, 0.0)


def test_restart_rebuilds_aggregates_from_the_event_log(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", realtime=RealtimeSettings(drain="sync"))
    first = Engine(settings)
    with TestClient(create_app(first)) as c:
        world(c, per_topic=3)
        c.post("/v1/events", json={"events": [event("alice", "travel0", "like"), event("bob", "travel0", "like")]})
    first.close()
    second = Engine(settings)
    try:
        assert likes_and_views(second, "travel0", time.time()) == (2.0, 0.0)
    finally:
        second.close()
