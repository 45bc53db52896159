"""Redis dies after an event is stored but before its online effects are applied: the client gets a 503,
and the effects are owed, never lost (state/stream/ingest_outbox.py). A real outage: a private Redis
is stopped at the exact moment PostgreSQL has stored the event."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from reelrank.config import Settings
from reelrank.domain import Event, EventKind
from reelrank.serving.workers import create_server_app
from reelrank.state.stream.ingest_outbox import APPLY, PUBLISH, IngestOutbox
from tests.server_mode.redis_process import RedisProcess


def _world(client: TestClient) -> None:
    assert client.post("/v1/users/batch", json={"users": [{"user_id": "c"}, {"user_id": "v"}]}).status_code < 300
    posts = [{"post_id": f"p{i}", "creator_id": "c", "caption": f"pasta recipe {i}"} for i in range(4)]
    assert client.post("/v1/posts/batch", json={"posts": posts}).status_code < 300


def _like(event_id: str, post: str) -> dict[str, Any]:
    return {"events": [{"event_id": event_id, "user_id": "v", "post_id": post, "kind": "like", "ts": time.time()}]}


def _stop_redis_after_storing(engine: Any, own_redis: RedisProcess) -> None:
    append = engine.records.append_events

    def append_then_outage(events: Any) -> list[bool]:
        out = append(events)
        own_redis.stop()  # stored in PostgreSQL; Redis goes away before the online effects
        engine.records.append_events = append
        return out

    engine.records.append_events = append_then_outage


def _seen(engine: Any, post: str) -> bool:
    uid, pid = engine.accounts.uid_of["v"], engine.catalogue.pid_of[post]
    return pid in engine.seen.seen(uid, now=time.time()).tolist()


def _stream_len(settings: Settings) -> int:
    r = redis.Redis.from_url(str(settings.redis_url))
    try:
        return int(r.xlen(f"{settings.backends.redis_prefix}:events"))
    finally:
        r.close()


def test_a_retry_after_the_outage_applies_the_stored_events_effects(server_settings: Settings,
                                                                    own_redis: RedisProcess) -> None:
    app = create_server_app(server_settings)
    with TestClient(app) as client:
        engine = app.state.engine
        engine.outbox._every_s = 3600.0  # only the retry may settle the debt in this test
        _world(client)
        _stop_redis_after_storing(engine, own_redis)
        r = client.post("/v1/events", json=_like("e1", "p1"))
        assert r.status_code == 503 and r.json()["backend"] == "redis"
        assert [e.event_id for e in engine.records.recent_events("v")] == ["e1"]  # stored...
        assert len(engine.outbox) == 1  # ...and its online effects owed, on disk
        assert "e1" in engine.outbox.path.read_text()
        assert client.get("/healthz/process").json()["owed_events"] == 1
        assert client.post("/v1/events", json=_like("e1", "p1")).status_code == 503  # still down: clearly
        own_redis.start()  # back, empty
        time.sleep(1.1)  # past the circuit breaker's open_s
        r = client.post("/v1/events", json=_like("e1", "p1"))
        assert r.status_code < 300 and r.json()["duplicates"] == 1
        assert _seen(engine, "p1") and len(engine.outbox) == 0  # the user's features have it
        assert _stream_len(server_settings) == 1  # and the workers' stream (aggregates, trends)
        r = client.post("/v1/events", json=_like("e1", "p1"))  # later retries change nothing
        assert r.status_code < 300 and _stream_len(server_settings) == 1
        _, session = engine.interest.query(engine.accounts.uid_of["v"])
        assert len(session) == 1


def test_without_a_retry_the_process_applies_them_once_redis_is_back(server_settings: Settings,
                                                                     own_redis: RedisProcess) -> None:
    app = create_server_app(server_settings)
    with TestClient(app) as client:
        engine = app.state.engine
        engine.outbox._every_s = 0.2
        _world(client)
        _stop_redis_after_storing(engine, own_redis)
        assert client.post("/v1/events", json=_like("e2", "p2")).status_code == 503
        time.sleep(0.5)
        assert len(engine.outbox) == 1  # Redis still down: owed
        own_redis.start()
        deadline = time.monotonic() + 10
        while len(engine.outbox) or not _seen(engine, "p2"):
            assert time.monotonic() < deadline, "the owed effects were never applied"
            time.sleep(0.1)
        assert _stream_len(server_settings) == 1
        assert engine.outbox.settled == 1


def test_debts_of_a_stopped_process_are_adopted(tmp_path: Path) -> None:
    applied: list[list[str]] = []
    published: list[list[str]] = []

    def record(into: list[list[str]]) -> Any:
        return lambda items: into.append([e.event_id for e, _, _ in items])

    dead = IngestOutbox(tmp_path, "dead", record(applied), record(published), lambda: None, every_s=3600)
    ev = [Event(event_id=f"x{i}", user_id="v", post_id="p", kind=EventKind.LIKE, ts=1.0) for i in range(3)]
    dead.owe([(ev[0], 1, 2), (ev[1], 1, 2)], APPLY)
    dead.owe([(ev[2], 1, 2)], PUBLISH)
    dead.close()  # stopped with debts: the file stays, unlocked
    alive = IngestOutbox(tmp_path, "alive", record(applied), record(published), lambda: None, every_s=3600)
    assert len(alive) == 3 and not (tmp_path / "dead.jsonl").exists()
    assert alive.settle(["x2", "x2", "nope"]) == 1  # a retry naming an event twice, and one not owed
    assert alive.settle() == 2
    assert applied == [["x0", "x1"]] and published == [["x2"], ["x0", "x1"]]
    assert alive.settle() == 0
    alive.close()
    assert not list(tmp_path.glob("*.jsonl"))


def test_a_live_processs_debts_are_left_to_it(tmp_path: Path) -> None:
    noop = lambda items: None  # noqa: E731
    first = IngestOutbox(tmp_path, "first", noop, noop, lambda: None, every_s=3600)
    first.owe([(Event(event_id="y", user_id="v", post_id="p", kind=EventKind.LIKE, ts=1.0), 1, 2)], APPLY)
    second = IngestOutbox(tmp_path, "second", noop, noop, lambda: None, every_s=3600)
    assert len(second) == 0 and len(first) == 1  # first holds its file's lock
    first.settle()
    first.close()
    second.close()


def test_a_settle_that_fails_midway_owes_only_what_is_left(tmp_path: Path) -> None:
    calls: list[str] = []
    down = {"apply": False, "publish": True}

    def step(name: str) -> Any:
        def run(items: Any) -> None:
            if down[name]:
                raise redis.ConnectionError(name)
            calls.append(name)
        return run

    box = IngestOutbox(tmp_path, "p", step("apply"), step("publish"), lambda: None, every_s=3600)
    box.owe([(Event(event_id="z", user_id="v", post_id="p", kind=EventKind.LIKE, ts=1.0), 1, 2)], APPLY)
    with pytest.raises(redis.ConnectionError):
        box.settle()  # features applied, the stream append failed
    assert len(box) == 1 and '"s": "publish"' in box.path.read_text()
    down["publish"] = False
    assert box.settle() == 1 and calls == ["apply", "publish"]  # the features are not applied twice
    box.close()


def test_settling_redoes_only_the_online_step(server_settings: Settings, own_redis: RedisProcess) -> None:
    """A follow event stored during the outage, then an unfollow: settling the follow's debt applies its
    online effects but does not write the follow edge again (that would undo the unfollow)."""
    app = create_server_app(server_settings)
    with TestClient(app) as client:
        engine = app.state.engine
        engine.outbox._every_s = 3600.0
        _world(client)
        _stop_redis_after_storing(engine, own_redis)
        follow = {"event_id": "f1", "user_id": "v", "post_id": "p1", "kind": "follow", "ts": time.time()}
        assert client.post("/v1/events", json={"events": [follow]}).status_code == 503
        uid = engine.accounts.uid_of
        assert uid["c"] in engine.graph.following(uid["v"]) and len(engine.outbox) == 1
        assert client.delete("/v1/users/v/follows/c").status_code < 300  # PostgreSQL only: allowed
        assert uid["c"] not in engine.graph.following(uid["v"])
        own_redis.start()
        time.sleep(1.1)
        assert engine.outbox.settle() == 1
        assert uid["c"] not in engine.graph.following(uid["v"])  # the unfollow stands, in memory
        stored = [(r.src_uid, r.dst_uid) for rows in engine.records.scan_edges() for r in rows]
        assert (uid["v"], uid["c"]) not in stored  # and in PostgreSQL


def test_a_torn_line_never_blocks_a_start(tmp_path: Path) -> None:
    """A process killed while recording a debt leaves half a line: the next start adopts the rest."""
    noop = lambda items: None  # noqa: E731
    dead = IngestOutbox(tmp_path, "dead", noop, noop, lambda: None, every_s=3600)
    dead.owe([(Event(event_id="t0", user_id="v", post_id="p", kind=EventKind.LIKE, ts=1.0), 1, 2)], APPLY)
    dead.close()
    with open(tmp_path / "dead.jsonl", "a") as fh:
        fh.write('{"e": {"event_id": "t1", "user_')  # the crash
    alive = IngestOutbox(tmp_path, "alive", noop, noop, lambda: None, every_s=3600)
    assert len(alive) == 1 and alive.settle() == 1
    assert "t1" in (tmp_path / "dead.jsonl.bad").read_text()
    alive.close()


def test_a_retry_waits_for_the_settle_in_flight(tmp_path: Path) -> None:
    """The outbox thread is applying a debt when its retry arrives: the retry answers after it is applied."""
    import threading

    started, release = threading.Event(), threading.Event()
    applied: list[str] = []

    def slow_apply(items: Any) -> None:
        started.set()
        release.wait(5)
        applied.extend(e.event_id for e, _, _ in items)

    box = IngestOutbox(tmp_path, "p", slow_apply, lambda items: None, lambda: None, every_s=3600)
    box.owe([(Event(event_id="w", user_id="v", post_id="p", kind=EventKind.LIKE, ts=1.0), 1, 2)], APPLY)
    background = threading.Thread(target=box.settle)
    background.start()
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    assert box.settle(["w"]) == 0  # the other settle took it...
    assert applied == ["w"] and len(box) == 0  # ...and the retry returned only once it was applied
    background.join(5)
    box.close()
