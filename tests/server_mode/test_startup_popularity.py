"""A serving process that starts while another one ingests counts each event's popularity once.

Start-up folds popularity from the stored events; the replica then follows the event stream from the
position taken before that scan. An event ingested during the load is in both (index/replica_sync.py).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from reelrank.config import Settings
from reelrank.domain import Event, EventKind, Post, User
from reelrank.engine import Engine
from reelrank.serving.workers import build_engine


def _wait(cond: Any, timeout: float = 5.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "condition not met in time"
        time.sleep(0.02)


def _likes(prefix: str, post: str, n: int) -> list[Event]:
    now = time.time()
    return [Event(event_id=f"{prefix}{i}", user_id=f"v{i}", post_id=post, kind=EventKind.LIKE, ts=now - i)
            for i in range(n)]


def test_events_ingested_while_a_process_loads_are_counted_once(server_settings: Settings,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    a = build_engine(server_settings, role="serve")
    b = None
    try:
        a.account_writer.put_users([User(user_id="c")] + [User(user_id=f"v{i}") for i in range(8)])
        a.post_writer.put([Post(post_id=p, creator_id="c", caption=f"pasta {p}") for p in ("early", "mid", "late")])
        a.event_writer.ingest(_likes("e", "early", 3))  # before B starts: stored and on the stream before B
        pids = np.asarray([a.catalogue.pid_of[p] for p in ("early", "mid", "late")])

        replay = Engine._replay_events

        def loading_while_a_ingests(self: Engine) -> None:
            # B's follower position is taken already: "mid" is stored before B's scan and on the stream
            # after B's position (the double count); "late" is stored after the scan (counted from the stream).
            a.event_writer.ingest(_likes("m", "mid", 5))
            replay(self)
            a.event_writer.ingest(_likes("l", "late", 2))

        monkeypatch.setattr(Engine, "_replay_events", loading_while_a_ingests)
        b = build_engine(server_settings, role="serve")
        monkeypatch.undo()

        # A folds every event once from the stream (its own inline update is off in server mode).
        now = time.time()
        _wait(lambda: a.popularity.scores(pids[2:], now)[0] > 0)
        want = a.popularity.scores(pids, now)
        _wait(lambda: b.popularity.scores(pids[2:], now)[0] > 0)
        time.sleep(0.3)  # anything else on the stream would have arrived by now
        got = b.popularity.scores(pids, now)
        np.testing.assert_allclose(got, want, rtol=1e-9)
        assert b.replica.stats()["startup_skipped"] == 5  # type: ignore[attr-defined]
        assert b.popularity.top(None, 3, now).tolist() == a.popularity.top(None, 3, now).tolist()
    finally:
        a.close()
        if b is not None:
            b.close()
