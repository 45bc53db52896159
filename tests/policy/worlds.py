"""Random small worlds for property-based tests: users, posts with random restrictions, regions,
privacy and categories, random blocks, mutes, follows, reports and 'not interested'."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from reelrank.domain import (
    Edge,
    EdgeKind,
    Event,
    EventKind,
    Post,
    PostKind,
    PostStatus,
    Report,
    TopicControls,
    User,
    UserSettings,
)
from reelrank.engine import Engine
from reelrank.simulation.safety_audit import SafetyAudit
from tests.policy.conftest import patient_settings

REGIONS = ("US", "GB", "IN")
TOPICS = ("cooking", "football", "travel", "music")
CATEGORIES = ("gambling", "alcohol")
THRESHOLD = 2
YEAR = time.gmtime().tm_year


@dataclass
class SmallWorld:
    users: list[User]
    posts: list[Post]
    blocks: list[tuple[int, int]] = field(default_factory=list)
    mutes: list[tuple[int, int]] = field(default_factory=list)
    follows: list[tuple[int, int]] = field(default_factory=list)
    reports: list[tuple[int, int]] = field(default_factory=list)  # (user, post)
    not_interested: list[tuple[int, int]] = field(default_factory=list)
    likes: list[tuple[int, int]] = field(default_factory=list)


@st.composite
def users(draw: st.DrawFn, n: int) -> list[User]:
    out = []
    for i in range(n):
        out.append(User(
            user_id=f"u{i}",
            region=draw(st.sampled_from(REGIONS)),
            birth_year=draw(st.sampled_from([None, YEAR - 15, YEAR - 30])),
            interests=draw(st.lists(st.sampled_from(TOPICS), max_size=2, unique=True)),
            is_private=draw(st.booleans()),
            settings=UserSettings(show_sensitive=draw(st.booleans()), hidden_categories=draw(
                st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True))),
            controls=TopicControls(muted=draw(st.lists(st.sampled_from(TOPICS), max_size=1))),
        ))
    return out


@st.composite
def posts(draw: st.DrawFn, n: int, n_users: int) -> list[Post]:
    now = time.time()
    out = []
    for i in range(n):
        allowed = draw(st.one_of(st.none(), st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True)))
        category = draw(st.sampled_from([None, None, *CATEGORIES]))
        out.append(Post(
            post_id=f"p{i}",
            creator_id=f"u{draw(st.integers(0, n_users - 1))}",
            kind=draw(st.sampled_from(list(PostKind))),
            caption=draw(st.sampled_from(["pasta dinner", "goal match", "beach trip", "guitar song"])),
            topics=draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=2, unique=True)),
            category=category,
            sensitive=draw(st.booleans()),
            min_age=draw(st.sampled_from([None, None, 18])),
            duration_ms=15_000,
            created_at=now - draw(st.floats(0, 3 * 86_400)),
            allowed_regions=allowed,
            blocked_regions=draw(st.lists(st.sampled_from(REGIONS), max_size=1)),
            status=draw(st.sampled_from([PostStatus.ACTIVE] * 5 + [PostStatus.REMOVED])),
        ))
    return out


@st.composite
def small_worlds(draw: st.DrawFn, max_users: int = 6, max_posts: int = 40) -> SmallWorld:
    n_u = draw(st.integers(2, max_users))
    n_p = draw(st.integers(1, max_posts))
    us, ps = draw(users(n_u)), draw(posts(n_p, n_u))
    pair = st.tuples(st.integers(0, n_u - 1), st.integers(0, n_u - 1)).filter(lambda ab: ab[0] != ab[1])
    up = st.tuples(st.integers(0, n_u - 1), st.integers(0, n_p - 1))
    return SmallWorld(
        us, ps,
        blocks=draw(st.lists(pair, max_size=4)),
        mutes=draw(st.lists(pair, max_size=4)),
        follows=draw(st.lists(pair, max_size=8)),
        reports=draw(st.lists(up, max_size=6)),
        not_interested=draw(st.lists(up, max_size=4)),
        likes=draw(st.lists(up, max_size=10)),
    )


@contextmanager
def loaded(world: SmallWorld, close: bool = True) -> Iterator[tuple[Engine, SafetyAudit]]:
    """An engine holding the world (through its writers) and an audit that knows the same facts.
    With close=False the caller closes the engine (e.g. to restart it on the same data)."""
    with tempfile.TemporaryDirectory() as d:
        engine = Engine(patient_settings(Path(d), report_threshold=THRESHOLD))
        try:
            audit = SafetyAudit.of(world.users, world.posts, THRESHOLD)
            engine.account_writer.put_users(world.users)
            engine.post_writer.put(world.posts)
            uid = [u.user_id for u in world.users]
            for kind, pairs, rel in ((EdgeKind.BLOCK, world.blocks, audit.blocks),
                                     (EdgeKind.MUTE, world.mutes, audit.mutes),
                                     (EdgeKind.FOLLOW, world.follows, audit.follows)):
                for a, b in pairs:
                    engine.account_writer.put_edge(Edge(src=uid[a], dst=uid[b], kind=kind))
                    rel.add((uid[a], uid[b]))
            for u, p in world.reports:
                engine.account_writer.report(Report(reporter_id=uid[u], post_id=world.posts[p].post_id))
                audit.report(uid[u], world.posts[p].post_id)
            events = []
            for j, (u, p) in enumerate(world.likes):
                events.append(Event(event_id=f"l{j}", user_id=uid[u], post_id=world.posts[p].post_id,
                                    kind=EventKind.LIKE))
            for j, (u, p) in enumerate(world.not_interested):
                events.append(Event(event_id=f"n{j}", user_id=uid[u], post_id=world.posts[p].post_id,
                                    kind=EventKind.NOT_INTERESTED))
                audit.mark_not_interested(uid[u], world.posts[p].post_id)
            if events:
                engine.event_writer.ingest(events)
            yield engine, audit
        finally:
            if close:
                engine.close()
