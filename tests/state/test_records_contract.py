"""Contract tests for `RecordStore`: every implementation must pass the same suite.

The suite is written against the Protocol only. To add an implementation, add a factory to
`FACTORIES` (and, if it leaves something behind outside the test's directory, a `CLEANUPS` entry);
every test then runs against it too. "postgres" gives each test its own schema (unique per run and
test, dropped afterwards); it fails under CI and skips locally when PostgreSQL is unreachable
(tests/state/services.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from reelrank.domain import Edge, EdgeKind, Event, EventKind, Post, PostKind, PostStatus, Report, Surface, User
from reelrank.state.records.base import NotFound, RecordStore
from reelrank.state.records.sqlite import SqliteRecordStore
from tests.state import services

# A factory opens the store kept under `where`; opening the same `where` twice must reach the same
# data (the durability test closes a store and reopens it).
StoreFactory = Callable[[Path], RecordStore]


def _sqlite(where: Path) -> RecordStore:
    return SqliteRecordStore(where / "records.db")


def _pg_schema(where: Path) -> str:
    # Same `where` -> same schema (the reopen test); the run token keeps concurrent runs apart.
    return f"rr_test_{services.RUN_TOKEN}_{abs(hash(str(where))) % 10**10}"


def _postgres(where: Path) -> RecordStore:
    from reelrank.state.records.postgres import PostgresRecordStore

    return PostgresRecordStore(services.require_postgres(), schema=_pg_schema(where), pool_size=4)


def _drop_postgres(where: Path) -> None:
    if services.postgres_reachable():
        services.drop_schema(_pg_schema(where))


FACTORIES: dict[str, StoreFactory] = {"sqlite": _sqlite, "postgres": _postgres}
CLEANUPS: dict[str, Callable[[Path], None]] = {"postgres": _drop_postgres}
DIM = 8


@pytest.fixture(params=sorted(FACTORIES))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """The implementation's factory, bound to this test's directory; closes whatever it opened."""
    opened: list[RecordStore] = []

    def factory(where: Path = tmp_path) -> RecordStore:
        store = FACTORIES[request.param](where)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
    if request.param in CLEANUPS:
        CLEANUPS[request.param](tmp_path)


@pytest.fixture
def store(open_store: StoreFactory) -> RecordStore:
    return open_store()


def users(*ids: str) -> list[User]:
    return [User(user_id=i) for i in ids]


def post(post_id: str, creator: str = "alice", **kw: object) -> Post:
    return Post(post_id=post_id, creator_id=creator, **kw)  # type: ignore[arg-type]


def vecs(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)


def event(eid: str, user: str = "alice", ts: float = 1000.0, kind: EventKind = EventKind.LIKE, **kw: object) -> Event:
    return Event(event_id=eid, user_id=user, post_id=kw.pop("post_id", "p1"), kind=kind, ts=ts, **kw)  # type: ignore[arg-type]


# users -----------------------------------------------------------------------------------------------
def test_user_upsert_assigns_ids_and_keeps_them(store: RecordStore) -> None:
    uids = store.upsert_users(users("alice", "bob"))
    assert len(set(uids)) == 2 and all(isinstance(u, int) and u > 0 for u in uids)

    changed = User(user_id="alice", region="DE", birth_year=1990, interests=["cats"], is_private=True)
    assert store.upsert_users([User(user_id="carol"), changed])[1] == uids[0]
    rec = store.get_user("alice")
    assert rec is not None and rec.uid == uids[0] and rec.user == changed
    assert store.get_user("nobody") is None
    assert store.user_uids(["bob", "nobody", "alice"]) == {"alice": uids[0], "bob": uids[1]}
    assert store.upsert_users([]) == []


def test_scan_users_in_batches(store: RecordStore) -> None:
    uids = store.upsert_users(users(*(f"u{i}" for i in range(7))))
    batches = list(store.scan_users(batch=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [r.uid for b in batches for r in b] == sorted(uids)
    assert {r.user.user_id for b in batches for r in b} == {f"u{i}" for i in range(7)}


# posts -----------------------------------------------------------------------------------------------
def full_post() -> Post:
    return Post(
        post_id="p1",
        creator_id="alice",
        kind=PostKind.CAROUSEL,
        caption="hello world",
        hashtags=["#sun", "sea"],
        topics=["travel", "beach"],
        category="alcohol",
        sensitive=True,
        min_age=18,
        duration_ms=15_000,
        created_at=1_700_000_000.123456,
        allowed_regions=["US", "CA"],
        blocked_regions=["DE"],
        status=PostStatus.ACTIVE,
        media_vector=[0.1, -2.5, 1e-7],
    )


def test_post_round_trips_every_field_and_vector(store: RecordStore) -> None:
    (alice,) = store.upsert_users(users("alice"))
    p, v = full_post(), vecs(1)
    (pid,) = store.upsert_posts([p], v)
    rec = store.get_post("p1")
    assert rec is not None
    assert (rec.pid, rec.creator_uid, rec.post) == (pid, alice, p)
    assert rec.vector is not None and rec.vector.dtype == np.float32
    np.testing.assert_array_equal(rec.vector, v[0])
    rec.vector[0] = 42.0  # callers own the array (a frombuffer view would be read-only)

    (row,) = next(store.scan_posts())
    assert (row.pid, row.post_id, row.creator_uid, row.kind) == (pid, "p1", alice, "carousel")
    assert (row.topics, row.category, row.sensitive, row.min_age) == (["travel", "beach"], "alcohol", True, 18)
    assert (row.created_at, row.allowed_regions, row.blocked_regions) == (p.created_at, ["US", "CA"], ["DE"])
    assert row.status is PostStatus.ACTIVE
    assert row.vector is not None
    np.testing.assert_array_equal(row.vector, v[0])
    assert store.get_post("nope") is None


def test_post_defaults_round_trip(store: RecordStore) -> None:
    store.upsert_users(users("alice"))
    p = post("plain")
    store.upsert_posts([p], vecs(1))
    rec = store.get_post("plain")
    assert rec is not None and rec.post == p and rec.post.media_vector is None
    (row,) = next(store.scan_posts())
    assert (row.allowed_regions, row.blocked_regions, row.category, row.min_age) == (None, [], None, None)


def test_post_upsert_keeps_pid_and_replaces_fields(store: RecordStore) -> None:
    store.upsert_users(users("alice", "bob"))
    pids = store.upsert_posts([post("p1"), post("p2")], vecs(2))
    assert len(set(pids)) == 2
    newer, v = post("p1", creator="bob", caption="edited", topics=["food"]), vecs(1, seed=7)
    assert store.upsert_posts([post("p3"), newer], np.vstack([vecs(1), v]))[1] == pids[0]
    rec = store.get_post("p1")
    assert rec is not None and rec.pid == pids[0] and rec.post == newer
    assert rec.creator_uid == store.user_uids(["bob"])["bob"]
    np.testing.assert_array_equal(rec.vector, v[0])
    assert store.count_posts() == 3


def test_unknown_creator_writes_nothing(store: RecordStore) -> None:
    store.upsert_users(users("alice"))
    with pytest.raises(NotFound) as err:
        store.upsert_posts([post("good"), post("bad", creator="ghost")], vecs(2))
    assert (err.value.what, err.value.ident) == ("user", "ghost")
    assert store.get_post("good") is None and store.count_posts() == 0
    # the store is still usable after the rolled-back batch
    assert len(store.upsert_posts([post("good")], vecs(1))) == 1


def test_ids_are_dense_despite_upserts_and_failed_batches(store: RecordStore) -> None:
    # The catalogue and the index size their arrays by the largest id: neither a re-upsert nor a
    # rolled-back batch may leave a gap.
    assert store.upsert_users(users("alice", "bob", "alice")) == [1, 2, 1]
    assert store.upsert_users(users("bob", "carol")) == [2, 3]
    with pytest.raises(NotFound):
        store.upsert_posts([post("a"), post("b", creator="ghost")], vecs(2))
    assert store.upsert_posts([post("a"), post("b"), post("a")], vecs(3)) == [1, 2, 1]
    assert store.upsert_posts([post("c"), post("b")], vecs(2)) == [3, 2]


def test_vectors_must_align_with_posts(store: RecordStore) -> None:
    store.upsert_users(users("alice"))
    with pytest.raises(ValueError):
        store.upsert_posts([post("p1"), post("p2")], vecs(1))
    assert store.count_posts() == 0
    assert store.upsert_posts([], vecs(0)) == []


def test_scan_posts_batches_and_after_pid(store: RecordStore) -> None:
    store.upsert_users(users("alice"))
    pids = store.upsert_posts([post(f"p{i}") for i in range(25)], vecs(25))
    batches = list(store.scan_posts(batch=10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [r.pid for b in batches for r in b] == sorted(pids)
    rest = [r.pid for b in store.scan_posts(after_pid=sorted(pids)[9], batch=100) for r in b]
    assert rest == sorted(pids)[10:]
    assert list(store.scan_posts(after_pid=max(pids))) == []


def test_set_post_status(store: RecordStore) -> None:
    store.upsert_users(users("alice"))
    (pid,) = store.upsert_posts([post("p1")], vecs(1))
    assert store.set_post_status("p1", PostStatus.REMOVED) == pid
    rec = store.get_post("p1")
    assert rec is not None and rec.post.status is PostStatus.REMOVED
    assert next(store.scan_posts())[0].status is PostStatus.REMOVED
    with pytest.raises(NotFound):
        store.set_post_status("ghost", PostStatus.REMOVED)


# edges and reports -----------------------------------------------------------------------------------
def test_edges_idempotent_delete_and_scan(store: RecordStore) -> None:
    a, b, c = store.upsert_users(users("a", "b", "c"))
    assert store.put_edge(Edge(src="a", dst="b", kind=EdgeKind.FOLLOW)) == (a, b)
    assert store.put_edge(Edge(src="a", dst="b", kind=EdgeKind.FOLLOW)) == (a, b)
    store.put_edge(Edge(src="a", dst="b", kind=EdgeKind.MUTE))
    store.put_edge(Edge(src="c", dst="a", kind=EdgeKind.BLOCK))
    rows = {(e.src_uid, e.dst_uid, e.kind) for batch in store.scan_edges(batch=2) for e in batch}
    assert rows == {(a, b, EdgeKind.FOLLOW), (a, b, EdgeKind.MUTE), (c, a, EdgeKind.BLOCK)}
    assert [len(batch) for batch in store.scan_edges(batch=2)] == [2, 1]

    assert store.delete_edge("a", "b", EdgeKind.FOLLOW) is True
    assert store.delete_edge("a", "b", EdgeKind.FOLLOW) is False
    assert store.delete_edge("a", "ghost", EdgeKind.FOLLOW) is False
    assert {(e.src_uid, e.kind) for batch in store.scan_edges() for e in batch} == {
        (a, EdgeKind.MUTE),
        (c, EdgeKind.BLOCK),
    }
    with pytest.raises(NotFound):
        store.put_edge(Edge(src="ghost", dst="a", kind=EdgeKind.FOLLOW))
    with pytest.raises(NotFound):
        store.put_edge(Edge(src="a", dst="ghost", kind=EdgeKind.FOLLOW))


def test_reports_count_distinct_reporters(store: RecordStore) -> None:
    r1, r2, _ = store.upsert_users(users("r1", "r2", "alice"))
    p1, p2 = store.upsert_posts([post("p1"), post("p2")], vecs(2))
    assert store.add_report(Report(reporter_id="r1", post_id="p1", reason="spam")) == 1
    assert store.add_report(Report(reporter_id="r1", post_id="p1", reason="again")) == 1
    assert store.add_report(Report(reporter_id="r2", post_id="p1")) == 2
    assert store.add_report(Report(reporter_id="r2", post_id="p2")) == 1
    assert sorted(store.scan_reports()) == sorted([(r1, p1), (r2, p1), (r2, p2)])
    with pytest.raises(NotFound) as err:
        store.add_report(Report(reporter_id="ghost", post_id="p1"))
    assert err.value.what == "user"
    with pytest.raises(NotFound) as err:
        store.add_report(Report(reporter_id="r1", post_id="ghost"))
    assert err.value.what == "post"


# events ----------------------------------------------------------------------------------------------
def test_events_idempotent_within_and_across_batches(store: RecordStore) -> None:
    first = [event("e1"), event("e2"), event("e1", ts=5.0)]
    assert store.append_events(first) == [True, True, False]
    assert store.append_events([event("e2"), event("e3"), event("e3")]) == [False, True, False]
    assert store.count_events() == 3
    assert store.append_events([]) == []
    # the duplicate did not overwrite the stored event
    assert [e.ts for e in store.recent_events("alice")] == [1000.0, 1000.0, 1000.0]


def test_events_all_new_all_stored_and_mixed_batches(store: RecordStore) -> None:
    # the all-new batch takes the fast path; the others must say exactly which rows were new
    assert store.append_events([event(f"a{i}") for i in range(5)]) == [True] * 5
    assert store.append_events([event(f"a{i}") for i in range(5)]) == [False] * 5
    mixed = [event("b1"), event("a0"), event("b1"), event("b2"), event("a4"), event("b2"), event("b3")]
    assert store.append_events(mixed) == [True, False, False, True, False, False, True]
    assert store.count_events() == 8


def test_recent_events_newest_first(store: RecordStore) -> None:
    evs = [
        event(
            "v",
            ts=10.0,
            kind=EventKind.VIEW,
            watch_ms=3_000,
            duration_ms=10_000,
            surface=Surface.REELS,
            request_id="req-1",
            position=3,
        ),
        event("f", ts=30.0, kind=EventKind.FOLLOW, post_id=None, target_user_id="bob", surface=Surface.EXPLORE),
        event("l", ts=20.0),
        event("other", user="bob", ts=99.0),
    ]
    store.append_events(evs)
    got = store.recent_events("alice")
    assert [e.event_id for e in got] == ["f", "l", "v"]
    assert got == [evs[1], evs[2], evs[0]]  # every field round-trips
    assert [e.event_id for e in store.recent_events("alice", limit=2)] == ["f", "l"]
    assert store.recent_events("nobody") == []


def test_scan_events_since_ts_in_order(store: RecordStore) -> None:
    # equal timestamps straddle batch boundaries: paging must neither skip nor repeat them
    ts = [5.0, 1.0, 3.0, 3.0, 3.0, 3.0, 2.0, 4.0]
    store.append_events([event(f"e{i}", ts=t) for i, t in enumerate(ts)])
    batches = list(store.scan_events(batch=3))
    assert [len(b) for b in batches] == [3, 3, 2]
    got = [e for b in batches for e in b]
    assert [e.ts for e in got] == sorted(ts)
    assert sorted(e.event_id for e in got) == sorted(f"e{i}" for i in range(len(ts)))
    since = [e.ts for b in store.scan_events(since_ts=3.0, batch=2) for e in b]
    assert since == [3.0, 3.0, 3.0, 3.0, 4.0, 5.0]
    assert list(store.scan_events(since_ts=6.0)) == []


def test_concurrent_appends_and_reads(store: RecordStore) -> None:
    n_threads, per_thread = 4, 50
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(per_thread):
                # overlapping ids across threads: each must be stored exactly once
                assert len(store.append_events([event(f"t{t}-{i}", ts=float(i)), event(f"shared-{i}")])) == 2
                store.recent_events("alice", limit=5)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert store.count_events() == n_threads * per_thread + per_thread


# durability ------------------------------------------------------------------------------------------
def test_data_survives_close_and_reopen(open_store: StoreFactory) -> None:
    store = open_store()
    a, b = store.upsert_users(users("alice", "bob"))
    v = vecs(1)
    (pid,) = store.upsert_posts([full_post()], v)
    store.set_post_status("p1", PostStatus.REMOVED)
    store.put_edge(Edge(src="bob", dst="alice", kind=EdgeKind.FOLLOW))
    store.add_report(Report(reporter_id="bob", post_id="p1"))
    store.append_events([event("e1"), event("e2", ts=2000.0)])
    store.close()
    store.close()  # idempotent

    again = open_store()
    assert again.user_uids(["alice", "bob"]) == {"alice": a, "bob": b}
    rec = again.get_post("p1")
    assert rec is not None and rec.pid == pid and rec.post.status is PostStatus.REMOVED
    np.testing.assert_array_equal(rec.vector, v[0])
    assert [(e.src_uid, e.dst_uid) for batch in again.scan_edges() for e in batch] == [(b, a)]
    assert list(again.scan_reports()) == [(b, pid)]
    assert [e.event_id for e in again.recent_events("alice")] == ["e2", "e1"]
    assert again.append_events([event("e1"), event("e3")]) == [False, True]
    # ids keep growing from where they were: a new user never reuses an old uid
    (c,) = again.upsert_users(users("carol"))
    assert c not in (a, b)


# housekeeping ----------------------------------------------------------------------------------------
def test_maintain_is_safe_to_call_often(store: RecordStore) -> None:
    store.append_events([event("e1")])
    for _ in range(3):
        store.maintain()  # the engine's maintenance loop calls it every few seconds
    assert store.count_events() == 1
    assert store.append_events([event("e1"), event("e2")]) == [False, True]


# impressions -------------------------------------------------------------------------------------
def test_impressions_round_trip_in_ts_order_and_window(store: RecordStore, open_store: StoreFactory,
                                                        tmp_path: Path) -> None:
    from reelrank.state.records.base import ImpressionRecord

    now = 1_700_000_000.0
    imps = [ImpressionRecord(request_id=f"r{i // 3}", user_id="alice", post_id=f"p{i}", ts=now + i // 3,
                             surface="reels", position=i % 3, sources=("ann", "fresh"),
                             scores={"formula": 0.5 + i, "p:like": 0.1}, model_versions={"ranker": "v1"},
                             bucket="ranker") for i in range(9)]
    store.append_impressions(list(reversed(imps[:6])))
    store.append_impressions(imps[6:])
    store.append_impressions([])
    got = [r for batch in store.scan_impressions(batch=4) for r in batch]
    assert sorted((r.ts, r.post_id) for r in got) == sorted((r.ts, r.post_id) for r in imps)
    assert [r.ts for r in got] == sorted(r.ts for r in got)
    first = next(r for r in got if r.post_id == "p4")
    assert first == imps[4]
    window = [r.post_id for b in store.scan_impressions(since_ts=now + 1, until_ts=now + 2) for r in b]
    assert sorted(window) == ["p3", "p4", "p5"]
    store.close()
    again = open_store(tmp_path)
    assert sum(len(b) for b in again.scan_impressions()) == 9  # durable across reopen
