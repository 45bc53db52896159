"""The event writer's batch path gives the same state as applying the same events one call at a time.

One batch of events from many users (views, likes, skips, saves, impressions, repeats of a post, and the
durable kinds: follow, not interested, hide, report) goes into one engine in a single ingest call and
into a twin engine one event per call; every user's online state must match: long-term interest vector
and its time, session sequence, seen set, topic and creator affinity, and popularity, plus the follow
edges and hidden posts. Runs on in-process online state and on Redis (skipped locally without Redis,
failed under CI: tests/state/services.py).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelrank.config import Settings
from reelrank.domain import Event, EventKind, Post, User
from reelrank.engine import Engine
from tests.conftest import make_settings
from tests.state import services

N_USERS, N_POSTS, N_EVENTS = 40, 60, 400
_counter = itertools.count()


def _memory(tmp: Path) -> tuple[Settings, Callable[[], None]]:
    return make_settings(tmp), lambda: None


def _redis(tmp: Path) -> tuple[Settings, Callable[[], None]]:
    s = make_settings(tmp)
    s.redis_url = services.require_redis()
    s.backends.redis_prefix = prefix = f"rr-test:{services.RUN_TOKEN}:writer{next(_counter)}"
    return s, lambda: services.delete_keys(prefix + ":")


@pytest.fixture(params=["memory", "redis"])
def twins(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    factory = {"memory": _memory, "redis": _redis}[request.param]
    (sa, clean_a), (sb, clean_b) = factory(tmp_path / "a"), factory(tmp_path / "b")
    engines: list[Engine] = []
    try:
        engines += [Engine(sa), Engine(sb)]
        for e in engines:
            e.account_writer.put_users([User(user_id=f"u{i}", region="DE" if i % 2 else "FR") for i in range(N_USERS)]
                                       + [User(user_id=f"c{i}") for i in range(6)])
            e.post_writer.put([Post(post_id=f"p{j}", creator_id=f"c{j % 6}", caption=f"post {j} about topic {j % 7}",
                                    topics=[f"t{j % 7}", f"t{(j + 3) % 7}"][: 1 + j % 2]) for j in range(N_POSTS)])
        yield engines[0], engines[1]
    finally:
        for e in engines:
            e.close()
        clean_a()
        clean_b()


def events(seed: int, t0: float) -> list[Event]:
    """A realistic mix in time order (a user's events never go back in time, as a client sends them)."""
    rng = np.random.default_rng(seed)
    kinds = [EventKind.IMPRESSION, EventKind.VIEW, EventKind.LIKE, EventKind.SKIP, EventKind.SAVE, EventKind.SHARE,
             EventKind.COMMENT, EventKind.FOLLOW, EventKind.NOT_INTERESTED, EventKind.HIDE, EventKind.REPORT]
    p = np.array([30, 30, 12, 9, 3, 3, 3, 3, 2, 2, 1], dtype=float)
    out = []
    for i in range(N_EVENTS):
        kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
        user = f"u{int(rng.integers(N_USERS))}"
        post = f"p{int(rng.integers(N_POSTS // 3)) if i % 4 else int(rng.integers(N_POSTS))}"  # repeats of hot posts
        extra: dict[str, Any] = {}
        if kind is EventKind.VIEW:
            dur = int(rng.integers(5_000, 60_000))
            extra = {"watch_ms": int(dur * float(rng.random())), "duration_ms": dur}
        if kind is EventKind.FOLLOW and i % 2:
            extra = {"target_user_id": f"c{int(rng.integers(6))}"}
        out.append(Event(event_id=f"e{seed}-{i}", user_id=user, post_id=post, kind=kind, ts=t0 + i * 7.0, **extra))
    return out


def snapshot(e: Engine, now: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(N_USERS):
        uid = e.accounts.uid_of[f"u{i}"]
        raw = e.online.get(f"u:{uid}:lt")
        lt = None if raw is None else (struct.unpack_from("<d", raw)[0], np.frombuffer(raw, np.float64, offset=8))
        _, user = e.account_writer.get_user(f"u{i}")
        out[f"u{i}"] = {
            "lt": lt, "session": e.interest.session(uid), "seen": sorted(e.seen.seen(uid, now).tolist()),
            "topics": e.affinity.topics(uid, now), "creators": e.affinity.creators(uid, now),
            "follows": sorted(e.graph.following(uid)),
            "user": user.model_dump(exclude={"created_at"}),  # hidden posts, controls
        }
    pids = np.arange(1, N_POSTS + 1, dtype=np.int64)
    out["popularity"] = e.popularity.scores(pids, now)
    return out


def assert_same(got: dict[str, Any], want: dict[str, Any]) -> None:
    np.testing.assert_allclose(got.pop("popularity"), want.pop("popularity"), rtol=1e-9)
    assert got.keys() == want.keys()
    for user in want:
        g, w = got[user], want[user]
        assert isinstance(g, dict) and isinstance(w, dict)
        if w["lt"] is None:
            assert g["lt"] is None, user
        else:
            assert g["lt"] is not None and g["lt"][0] == w["lt"][0], user
            np.testing.assert_allclose(g["lt"][1], w["lt"][1], rtol=1e-9, atol=1e-12)
        for k in ("topics", "creators"):
            assert g[k].keys() == w[k].keys(), (user, k)
            for f in w[k]:
                assert g[k][f] == pytest.approx(w[k][f], rel=1e-9, abs=1e-12), (user, k, f)
        for k in ("session", "seen", "follows", "user"):
            assert g[k] == w[k], (user, k)


def test_one_batch_equals_one_event_at_a_time(twins: tuple[Engine, Engine]) -> None:
    batched, single = twins
    t0 = 1_780_000_000.0
    evs = events(1, t0)
    res = batched.event_writer.ingest(evs)
    assert res.accepted == N_EVENTS and res.duplicates == 0
    for e in evs:
        single.event_writer.ingest([e])
    now = t0 + N_EVENTS * 7.0
    want = snapshot(single, now)
    users = [u for k, u in want.items() if k != "popularity"]
    for k in ("lt", "session", "seen", "topics", "creators", "follows"):  # the mix exercises every feature
        assert any(u[k] for u in users), k
    assert any(u["user"]["controls"]["hidden_posts"] for u in users)
    assert_same(snapshot(batched, now), want)
    # the same batch again: all duplicates, nothing changes
    again = batched.event_writer.ingest(evs)
    assert again.accepted == 0 and again.duplicates == N_EVENTS
    assert_same(snapshot(batched, now), snapshot(single, now))
