"""Duplicates and 'never again': the seen window across sessions, sessions that never repeat, and
reported posts that never return to the reporter (nor to anyone past the report threshold)."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from reelrank.config import InterestSettings
from reelrank.engine import Engine
from reelrank.serving.app import create_app
from tests.policy.conftest import patient_settings
from tests.serving.helpers import event, feed, world


def ids(page: dict) -> set[str]:
    return {i["post_id"] for i in page["items"]}


def test_seen_posts_stay_away_across_sessions_within_the_window(client: TestClient) -> None:
    world(client, per_topic=6)
    first = feed(client, "alice", page_size=6, surface="explore")
    views = [event("alice", p, "view", watch_ms=3000, duration_ms=15000) for p in ids(first)]
    assert client.post("/v1/events", json={"events": views}).status_code == 200
    for _ in range(3):  # new sessions (no cursor): what she saw does not come back
        assert not ids(feed(client, "alice", page_size=12, surface="explore")) & ids(first)


def test_the_seen_window_is_configurable(tmp_path: Path) -> None:
    settings = patient_settings(tmp_path, interest=InterestSettings(seen_window_s=3600.0))
    engine = Engine(settings)
    try:
        with TestClient(create_app(engine)) as client:
            world(client, per_topic=2)
            now = time.time()
            old = event("alice", "cooking0", "view", watch_ms=3000, duration_ms=15000, ts=now - 2 * 3600)
            recent = event("alice", "cooking1", "view", watch_ms=3000, duration_ms=15000, ts=now - 60)
            assert client.post("/v1/events", json={"events": [old, recent]}).status_code == 200
            shown = ids(feed(client, "alice", page_size=20, surface="explore"))
            assert "cooking0" in shown and "cooking1" not in shown  # seen two hours ago: outside the window
    finally:
        engine.close()


def test_a_session_never_repeats_until_the_catalogue_runs_out(client: TestClient) -> None:
    world(client, per_topic=3)  # nine reels
    cursor, served = None, []
    for _ in range(4):
        page = feed(client, "bob", page_size=4, **({"cursor": cursor} if cursor else {}))
        served += [i["post_id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert len(served) == len(set(served)) == 9


def test_a_reported_post_never_returns_to_the_reporter(client: TestClient) -> None:
    world(client, per_topic=3)
    assert client.post("/v1/reports", json={"reporter_id": "alice", "post_id": "travel0"}).status_code == 201
    rep = event("alice", "travel1", "report")  # reports also arrive as events
    assert client.post("/v1/events", json={"events": [rep]}).status_code == 200
    engine = client.app.state.engine  # type: ignore[attr-defined]
    engine.online.delete(f"u:{engine.accounts.uid_of['alice']}:seen")  # long absence: the seen window expired
    assert not ids(feed(client, "alice", page_size=20, surface="explore")) & {"travel0", "travel1"}
    assert {"travel0", "travel1"} <= ids(feed(client, "bob", page_size=20, surface="explore"))  # below threshold
    assert client.get("/v1/users/alice").json()["controls"]["hidden_posts"] == ["travel0", "travel1"]


def test_past_the_threshold_a_post_is_hidden_from_everyone_durably(tmp_path: Path) -> None:
    settings = patient_settings(tmp_path, report_threshold=2)
    engine = Engine(settings)
    with TestClient(create_app(engine)) as client:
        world(client, per_topic=3)
        for reporter in ("alice", "c_cooking"):
            r = client.post("/v1/reports", json={"reporter_id": reporter, "post_id": "travel0"})
        assert r.json()["hidden_for_everyone"] is True
        assert "travel0" not in ids(feed(client, "bob", page_size=20, surface="explore"))
        client.patch("/v1/posts/travel0", json={"caption": "edited caption"})  # an edit does not bring it back
        assert "travel0" not in ids(feed(client, "bob", page_size=20, surface="explore"))
    engine.close()
    engine = Engine(settings)  # nor does a restart
    try:
        with TestClient(create_app(engine)) as client:
            assert "travel0" not in ids(feed(client, "bob", page_size=20, surface="explore"))
            assert "travel1" in ids(feed(client, "bob", page_size=20, surface="explore"))
    finally:
        engine.close()
