"""Two serving engines and one worker engine in one test process, sharing PostgreSQL and Redis."""

from __future__ import annotations

import time

import numpy as np

from reelrank.config import Settings
from reelrank.domain import Edge, EdgeKind, Event, EventKind, FeedRequest, Post, User
from reelrank.serving.workers import build_engine


def _wait(cond, timeout: float = 3.0) -> float:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_changes_reach_every_replica_and_restart_does_not_double_count(server_settings: Settings) -> None:
    a = build_engine(server_settings, role="serve")
    b = build_engine(server_settings, role="serve")
    try:
        a.account_writer.put_users([User(user_id="c"), User(user_id="v")])
        _wait(lambda: "v" in b.accounts.uid_of)
        a.post_writer.put([Post(post_id=f"p{i}", creator_id="c", caption=f"pasta recipe {i}", topics=["cooking"])
                           for i in range(10)])
        took = _wait(lambda: len(b.index) == 10 and "p9" in b.catalogue.pid_of)
        assert took < 1.0
        pid = a.catalogue.pid_of["p3"]
        assert b.catalogue.pid_of["p3"] == pid
        vec = a.index.vectors(np.asarray([pid]))  # (1, D)
        assert pid in np.asarray(b.index.search(vec, 5)[0]).ravel().tolist()
        # removal, follow edge and a new account follow too
        b.post_writer.remove("p3")
        _wait(lambda: pid not in a.index)
        a.account_writer.put_edge(Edge(src="v", dst="c", kind=EdgeKind.FOLLOW))
        uv, uc = a.accounts.uid_of["v"], a.accounts.uid_of["c"]
        _wait(lambda: uc in b.graph.following(uv))
        # an event through A: user features in Redis are visible to B at once
        now = time.time()
        a.event_writer.ingest([Event(event_id="e1", user_id="v", post_id="p5", kind=EventKind.LIKE, ts=now)])
        assert a.catalogue.pid_of["p5"] in b.seen.seen(uv, now=now).tolist()
        _wait(lambda: b.popularity.scores(np.asarray([a.catalogue.pid_of["p5"]]), time.time())[0] > 0)
        page, _ = b.feed_service.feed(FeedRequest(user_id="v", page_size=5, surface="explore"))
        assert page.items and "p5" not in {i["post_id"] for i in page.items} and "p3" not in {
            i["post_id"] for i in page.items}
    finally:
        a.close()
        b.close()
    # A restart must not re-apply the stored event to Redis state (one session action, not two).
    for _ in range(2):
        again = build_engine(server_settings, role="serve")
        try:
            _, session = again.interest.query(again.accounts.uid_of["v"])
            assert len(session) == 1
        finally:
            again.close()
