"""The per-request sequence the user tower reads: stored events, then fresher session actions."""

from __future__ import annotations

from reelrank.domain import Event, EventKind, Post, User
from reelrank.engine import Engine
from reelrank.features.interest import SessionAction
from reelrank.models.query import ModelQueries, UserSequences


def test_sequence_comes_from_the_store_and_session_actions_newer_than_it(engine: Engine) -> None:
    engine.account_writer.put_users([User(user_id="c"), User(user_id="v")])
    engine.post_writer.put([Post(post_id=f"p{i}", creator_id="c", caption=f"post {i}") for i in range(4)])
    pid = engine.catalogue.pid_of
    engine.event_writer.ingest([
        Event(event_id="a", user_id="v", post_id="p0", kind=EventKind.VIEW, watch_ms=9_500, duration_ms=10_000,
              ts=10.0),
        Event(event_id="b", user_id="v", post_id="p0", kind=EventKind.LIKE, ts=11.0),  # same post: merged
        Event(event_id="c", user_id="v", post_id="p1", kind=EventKind.VIEW, watch_ms=3_000, duration_ms=10_000,
              ts=12.0),  # a partial view: neither positive nor negative
        Event(event_id="d", user_id="v", post_id="p2", kind=EventKind.SKIP, ts=13.0),
    ])
    seqs = UserSequences(engine.records, engine.catalogue, limit=50)
    newer = SessionAction(pid["p3"], 1.5, 14.0)  # e.g. applied from a stream before it was durable
    older = SessionAction(pid["p1"], 1.0, 5.0)  # already in the store's history: not repeated
    t = seqs.tokens("v", [newer, older])
    assert t.pids.tolist() == [pid["p0"], pid["p2"], pid["p3"]]
    assert t.weights.tolist() == [2.0, -0.5, 1.5]


def test_no_model_no_query(engine: Engine) -> None:
    engine.account_writer.put_users([User(user_id="v")])
    q = ModelQueries(engine.models, UserSequences(engine.records, engine.catalogue, 10))
    assert q.query(engine.accounts.profiles[engine.accounts.uid_of["v"]], []) is None
