"""The engine in server mode: records in PostgreSQL, online state in Redis, chosen by Settings alone.

One schema and one key prefix per test (unique per run), dropped afterwards; fails under CI and
skips locally when a service is unreachable (tests/state/services.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelrank.config import Settings
from reelrank.domain import Event, EventKind, FeedRequest, Post, User
from reelrank.engine import Engine
from reelrank.state.factory import open_online_state, open_records, open_stream
from reelrank.state.online.memory import MemoryOnlineState
from reelrank.state.records.sqlite import SqliteRecordStore
from reelrank.state.stream.memory import MemoryEventStream
from tests.conftest import make_settings
from tests.state import services


@pytest.fixture
def server_settings(tmp_path: Path) -> Iterator[Settings]:
    with services.server_mode_settings(tmp_path / "data", "engine") as s:
        yield s


def test_defaults_are_embedded(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    records = open_records(s)
    try:
        assert isinstance(records, SqliteRecordStore)
    finally:
        records.close()
    assert isinstance(open_online_state(s), MemoryOnlineState)
    assert isinstance(open_stream(s), MemoryEventStream)
    s.database_url = "mysql://nope"
    with pytest.raises(ValueError, match="database_url"):
        open_records(s)
    s.redis_url = "http://user:secret@host"
    with pytest.raises(ValueError, match=r"\*\*\*") as err:
        open_online_state(s)
    assert "secret" not in str(err.value)


def test_engine_runs_on_postgres_and_redis_and_restarts(server_settings: Settings) -> None:
    from reelrank.state.online.redis import RedisOnlineState
    from reelrank.state.records.postgres import PostgresRecordStore
    from reelrank.state.stream.redis import RedisEventStream

    stream = open_stream(server_settings)
    assert isinstance(stream, RedisEventStream)
    stream.close()  # type: ignore[attr-defined]

    first = Engine(server_settings)
    try:
        assert isinstance(first.records, PostgresRecordStore)
        assert isinstance(first.online, RedisOnlineState)
        first.account_writer.put_users([User(user_id="c"), User(user_id="v")])
        first.post_writer.put([Post(post_id=f"p{i}", creator_id="c", caption=f"pasta recipe {i}", topics=["cooking"])
                               for i in range(20)])  # fmt: skip
        now = time.time()
        first.event_writer.ingest([Event(event_id="e1", user_id="v", post_id="p5", kind=EventKind.LIKE, ts=now)])
        uid = first.accounts.uid_of["v"]
        assert first.catalogue.pid_of["p5"] in first.seen.seen(uid, now=now).tolist()
        page, _ = first.feed_service.feed(FeedRequest(user_id="v", page_size=5, surface="explore"))
        assert page.items and "p5" not in {i["post_id"] for i in page.items}
    finally:
        first.close()

    second = Engine(server_settings)
    try:
        assert len(second.catalogue) == 20 and second.accounts.uid_of["v"] == uid
        assert [e.event_id for e in second.records.recent_events("v")] == ["e1"]
        assert second.catalogue.pid_of["p5"] in second.seen.seen(uid, now=time.time()).tolist()
        page, _ = second.feed_service.feed(FeedRequest(user_id="v", page_size=5, surface="explore"))
        assert page.items and "p5" not in {i["post_id"] for i in page.items}
    finally:
        second.close()
