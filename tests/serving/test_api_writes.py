"""Writes through the HTTP API: validation names the field, batches are all or nothing, 404s are clear."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.serving.helpers import event, post, user, world


def test_bad_input_names_field_and_rule(client: TestClient) -> None:
    r = client.post("/v1/users", json={"user_id": "has space"})
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["field"] == "user_id"
    assert "user_id" in body["message"]
    r = client.post("/v1/posts", json={"post_id": "p1", "creator_id": "nobody", "duration_ms": -5})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "duration_ms"


def test_unknown_creator_and_unknown_ids_are_clear(client: TestClient) -> None:
    r = client.post("/v1/posts", json={"post_id": "p1", "creator_id": "ghost"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "creator_id"
    assert client.get("/v1/posts/nope").status_code == 404
    assert client.get("/v1/feed", params={"user_id": "nobody"}).status_code == 404
    assert client.get("/v1/users/nobody").json()["error"] == "unknown_user"


def test_post_batch_is_all_or_nothing(client: TestClient) -> None:
    user(client, "c1")
    good = {"post_id": "ok1", "creator_id": "c1", "caption": "hello"}
    bad = {"post_id": "bad1", "creator_id": "ghost", "caption": "hi"}
    r = client.post("/v1/posts/batch", json={"posts": [good, bad]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["index"] == 1
    assert client.get("/v1/posts/ok1").status_code == 404  # nothing was written
    r = client.post("/v1/posts/batch", json={"posts": [good]})
    assert r.status_code == 200 and r.json()["count"] == 1
    assert client.get("/v1/posts/ok1").json()["caption"] == "hello"


def test_event_batch_validated_before_storing(client: TestClient) -> None:
    world(client, per_topic=2)
    events = [event("alice", "cooking0"), event("alice", "missing-post")]
    r = client.post("/v1/events", json={"events": events})
    assert r.status_code == 422
    assert r.json()["errors"][0] == {"index": 1, "field": "post_id", "message": "post 'missing-post' does not exist"}
    r = client.post("/v1/events", json={"events": [event("alice", "cooking0", "view")]})
    assert r.status_code == 422  # a view needs watch_ms
    assert "watch_ms" in r.json()["message"]


def test_events_are_idempotent(client: TestClient) -> None:
    world(client, per_topic=2)
    batch = [event("alice", "cooking0"), event("alice", "cooking1", "view", watch_ms=14000, duration_ms=15000)]
    assert client.post("/v1/events", json={"events": batch}).json() == {"accepted": 2, "duplicates": 0}
    assert client.post("/v1/events", json={"events": batch}).json() == {"accepted": 0, "duplicates": 2}


def test_event_batch_limit_is_configurable(client: TestClient) -> None:
    world(client, per_topic=1)
    client.app.state.engine.settings.max_event_batch = 2  # type: ignore[attr-defined]
    r = client.post("/v1/events", json={"events": [event("alice", "cooking0") for _ in range(3)]})
    assert r.status_code == 422
    assert "at most 2" in r.json()["message"]


def test_patch_and_remove_post(client: TestClient) -> None:
    user(client, "c1")
    post(client, "p1", "c1", "cooking")
    r = client.patch("/v1/posts/p1", json={"caption": "new caption"})
    assert r.status_code == 200 and r.json()["caption"] == "new caption"
    assert client.delete("/v1/posts/p1").json()["status"] == "removed"
    assert client.get("/v1/posts/p1").json()["status"] == "removed"
    assert client.delete("/v1/posts/none").status_code == 404


def test_users_patch_and_edges(client: TestClient) -> None:
    user(client, "a")
    user(client, "b")
    r = client.patch("/v1/users/a", json={"region": "GB", "interests": ["cooking"]})
    assert r.json()["region"] == "GB" and r.json()["interests"] == ["cooking"]
    assert client.post("/v1/users/a/follows/b").status_code == 201
    assert client.post("/v1/users/a/follows/ghost").status_code == 404
    assert client.post("/v1/users/a/likes/b").status_code == 422
    assert client.delete("/v1/users/a/follows/b").json()["removed"] is True
    assert client.post("/v1/users/a/follows/a").status_code == 422


def test_health_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    text = client.get("/metrics").text
    assert "reelrank_feed_latency_ms" in text
    assert client.get("/openapi.json").status_code == 200
