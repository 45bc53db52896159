"""The simulated user: reacts to taste, sends valid, unique events, and can change its mind."""

from __future__ import annotations

import itertools

import pytest

from reelrank.domain import Event, EventKind, Surface
from reelrank.simulation.agent import Behaviour, SimulatedUser
from reelrank.simulation.api import SimulationError
from reelrank.simulation.world import single_interest_world
from tests.simulation.fakes import FakeClient

NOW = 1_750_000_000.0


class FakeClock:
    def __init__(self, t: float = NOW) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def world():
    return single_interest_world("cooking", n_posts=600, n_topics=4, now=NOW)


def _agent(world, client, **kw) -> SimulatedUser:
    return SimulatedUser.from_world(client, world, world.focus_viewer_id, seed=kw.pop("seed", 1), **kw)


def _split(report, topic: str) -> tuple[dict[str, float], dict[str, float]]:
    """(per-item means on `topic`, per-item means on everything else)."""
    on = {"items": 0, "watch_seconds": 0.0, "likes": 0}
    off = dict(on)
    for t, row in report.by_topic().items():
        target = on if t == topic else off
        for k in target:
            target[k] += row[k]
    return ({k: v / max(on["items"], 1) for k, v in on.items()}, {k: v / max(off["items"], 1) for k, v in off.items()})


def test_cooking_fan_watches_and_likes_cooking_more(world) -> None:
    client = FakeClient(world.posts)
    report = _agent(world, client).run_session(n_pages=12, page_size=10)
    assert report.pages == 12 and report.items_shown == 120
    on, off = _split(report, "cooking")
    assert on["items"] == 1 and 0.2 < report.top_topic_share < 0.3  # the fake feed is evenly mixed
    assert on["watch_seconds"] > 3 * off["watch_seconds"]
    assert on["likes"] > 0.2 and on["likes"] > 4 * off["likes"]
    # Skips and "not interested" land on the other topics.
    skipped = [it for it in report.items if "skip" in it.kinds]
    assert skipped and sum(it.topic == "cooking" for it in skipped) <= 0.1 * len(skipped)
    assert report.skips == len(skipped)


def test_switch_interest_changes_behaviour(world) -> None:
    client = FakeClient(world.posts)
    agent = _agent(world, client)
    before = agent.run_session(n_pages=10)
    agent.switch_interest("football")
    assert agent.interests == {"football": 1.0} and agent.top_topic == "football"
    after = agent.run_session(n_pages=10)
    b_on, _ = _split(before, "football")
    a_on, a_off = _split(after, "football")
    assert a_on["watch_seconds"] > 3 * b_on["watch_seconds"]
    assert a_on["watch_seconds"] > 2 * a_off["watch_seconds"]
    assert after.top_topic == "football"
    # Partial switch keeps some of the old taste.
    agent.switch_interest("cooking", strength=0.5)
    assert agent.interests == pytest.approx({"football": 0.5, "cooking": 0.5})


def test_drift_moves_taste_but_keeps_it_normalised(world) -> None:
    agent = _agent(world, FakeClient(world.posts), seed=5)
    agent.drift(0.3)
    w = agent.interests
    assert w["cooking"] == pytest.approx(0.7) and sum(w.values()) == pytest.approx(1.0)
    assert set(w) <= set(world.topics) and len(w) > 1
    with pytest.raises(ValueError):
        agent.drift(1.5)


def test_events_are_unique_valid_and_batched_per_page(world) -> None:
    client = FakeClient(world.posts)
    agent = _agent(world, client)
    r1 = agent.run_session(n_pages=4, page_size=8)
    r2 = agent.run_session(n_pages=3, page_size=8, surface="explore")
    assert len(client.batches) == 7
    ids = [e["event_id"] for e in client.events]
    assert len(set(ids)) == len(ids)
    events = [Event.model_validate(e) for e in client.events]
    views = [e for e in events if e.kind is EventKind.VIEW]
    assert len(views) == r1.items_shown + r2.items_shown
    for e in views:
        assert e.watch_ms is not None and e.watch_ms > 0 and e.duration_ms
        post = world.post(e.post_id)
        if post.duration_ms:
            assert e.duration_ms == post.duration_ms
    for e in events:
        assert e.user_id == world.focus_viewer_id and e.request_id and e.position is not None
    assert {e.surface for e in events} == {Surface.REELS, Surface.EXPLORE}
    # Every kind the report counts was sent.
    kinds = [e.kind.value for e in events]
    assert kinds.count("like") == r1.likes + r2.likes
    assert kinds.count("skip") == r1.skips + r2.skips
    follows = [e for e in events if e.kind is EventKind.FOLLOW]
    assert all(e.post_id and e.target_user_id == world.post(e.post_id).creator_id for e in follows)
    assert len({e.target_user_id for e in follows}) == len(follows)
    # Nothing is None on the wire (exclude_none) and batches carry the page's request id.
    assert all(v is not None for e in client.events for v in e.values())
    assert all(len({e["request_id"] for e in batch}) == 1 for batch in client.batches)
    # Two agents for the same user never collide on event ids.
    other = _agent(world, client)
    other.run_session(n_pages=1)
    assert len({e["event_id"] for e in client.events}) == len(client.events)


def test_simulated_clock(world) -> None:
    clock = FakeClock()
    client = FakeClient(world.posts)
    agent = _agent(world, client, clock=clock)
    agent.run_session(n_pages=3, page_size=5, time_step=600)
    ts = [[e["ts"] for e in batch] for batch in client.batches]
    assert max(ts[0]) == NOW  # the last item of a page ends when the batch is sent
    assert max(ts[1]) == NOW + 600 and max(ts[2]) == NOW + 1200
    assert all(min(b) >= NOW - 3600 for b in ts)
    assert all(a <= b for batch in ts for a, b in itertools.pairwise(batch))
    agent.advance(86_400)
    clock.t += 10
    assert agent.now() == NOW + 1800 + 86_400 + 10


def test_report_bookkeeping(world) -> None:
    client = FakeClient(world.posts, empty_after_pages=2)
    report = _agent(world, client).run_session(n_pages=5, page_size=6)
    assert report.pages == 2 and report.items_shown == 12
    assert len(report.topic_share_per_page) == len(report.distinct_topics_per_page) == 2
    assert all(1 <= d <= 4 for d in report.distinct_topics_per_page)
    assert report.repeated_items == 0
    assert report.watch_seconds == pytest.approx(sum(i.watch_ms for i in report.items) / 1000)
    assert 0 < report.mean_watch_ratio < 2
    assert len(report.feed_latency_ms) == 3  # the empty third page was fetched too


def test_api_errors_carry_the_body(world) -> None:
    client = FakeClient(world.posts, fail={"/v1/events": 422})
    with pytest.raises(SimulationError, match=r"POST /v1/events .*422.*bad request"):
        _agent(world, client).run_session(n_pages=1)


def test_behaviour_and_unknown_posts(world) -> None:
    """Without a world the agent still works from the feed's topics, with a default duration."""
    client = FakeClient(world.posts)
    agent = SimulatedUser(client, "someone", {"cooking": 1.0}, behaviour=Behaviour(default_duration_ms=9_000))
    agent.run_session(n_pages=1)
    views = [e for e in client.events if e["kind"] == "view"]
    assert all(e["duration_ms"] == 9_000 for e in views)
    with pytest.raises(ValueError):
        SimulatedUser(client, "nobody", {})
