"""Backends unreachable: feeds degrade (Redis) and writes are refused with a 503, never acknowledged and lost.

The shared services are never stopped: a process is pointed at a closed port instead (Redis), or its
record store's connection pool is swapped for one that cannot connect (PostgreSQL).
"""

from __future__ import annotations

import socket
import time

from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from reelrank.config import Settings
from reelrank.serving.workers import create_server_app


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _world(client: TestClient) -> None:
    assert client.post("/v1/users/batch", json={"users": [{"user_id": "c"}, {"user_id": "v"}]}).status_code < 300
    posts = [{"post_id": f"p{i}", "creator_id": "c", "caption": f"pasta recipe {i}", "topics": ["cooking"]}
             for i in range(12)]
    assert client.post("/v1/posts/batch", json={"posts": posts}).status_code < 300


def _event(i: int) -> dict[str, object]:
    return {"event_id": f"e{i}", "user_id": "v", "post_id": "p1", "kind": "like", "ts": time.time()}


def test_redis_down_feeds_degrade_and_events_are_refused(server_settings: Settings) -> None:
    server_settings.redis_url = f"redis://127.0.0.1:{_closed_port()}/0"
    app = create_server_app(server_settings)
    with TestClient(app) as client:
        engine = app.state.engine
        _world(client)  # records in PostgreSQL: catalogue writes still work
        r = client.get("/v1/feed", params={"user_id": "v", "surface": "explore", "explain": "true"})
        assert r.status_code == 200 and r.json()["items"]
        assert "online_state:redis_unavailable" in r.json()["trace"]["degraded"]
        assert 'reelrank_degraded_requests_total{backend="redis",route="feed"}' in client.get("/metrics").text
        r = client.post("/v1/events", json={"events": [_event(1)]})
        assert r.status_code == 503 and r.json()["backend"] == "redis"
        assert engine.records.recent_events("v") == []  # refused before anything was stored


def test_postgres_down_writes_are_refused_and_nothing_is_applied(server_settings: Settings) -> None:
    app = create_server_app(server_settings)
    with TestClient(app) as client:
        engine = app.state.engine
        _world(client)
        dead = ConnectionPool(f"postgresql://postgres@127.0.0.1:{_closed_port()}/test", min_size=0, max_size=1,
                              timeout=1.0, open=True)
        good, engine.records._pool = engine.records._pool, dead
        try:
            r = client.post("/v1/posts", json={"post_id": "new", "creator_id": "c", "caption": "x"})
            assert r.status_code == 503 and r.json()["backend"] == "postgresql"
            assert "new" not in engine.catalogue.pid_of
            r = client.post("/v1/events", json={"events": [_event(2)]})
            assert r.status_code == 503
            uid, pid = engine.accounts.uid_of["v"], engine.catalogue.pid_of["p1"]
            assert pid not in engine.seen.seen(uid, now=time.time()).tolist()  # not applied
            r = client.post("/v1/users", json={"user_id": "w"})
            assert r.status_code == 503 and "w" not in engine.accounts.uid_of
            assert client.get("/v1/feed", params={"user_id": "v"}).status_code == 200  # reads from memory
        finally:
            engine.records._pool = good
            dead.close()
        r = client.post("/v1/events", json={"events": [_event(2)]})
        assert r.status_code < 300 and r.json()["accepted"] == 1  # the retry is accepted once PostgreSQL is back
