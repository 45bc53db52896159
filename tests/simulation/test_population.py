"""Loading worlds through the API and running many simulated users."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from reelrank.domain import Post, User
from reelrank.simulation.agent import SimulatedUser
from reelrank.simulation.population import METRICS, WorldLoadError, load_world, run_population
from reelrank.simulation.world import WorldConfig, generate_world, make_cooking_world
from tests.simulation.fakes import FakeClient

NOW = 1_750_000_000.0


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(n_users=60, n_creators=25, n_posts=700, n_topics=6, seed=4, now=NOW))


def test_load_world_posts_everything_in_order(world) -> None:
    client = FakeClient()
    report = load_world(client, world, batch=40, progress=False)
    urls = [u for u, _ in client.posted]
    n_acc = len(world.creators) + len(world.viewers)
    assert urls.count("/v1/users/batch") == math.ceil(n_acc / 40)
    assert urls.count("/v1/posts/batch") == math.ceil(len(world.posts) / 40)
    follow_urls = [u for u in urls if "/follows/" in u]
    assert len(follow_urls) == world.n_follows == report.follows
    # Accounts, then posts, then follows.
    kinds = ["u" if "users/batch" in u else "p" if "posts/batch" in u else "f" for u in urls]
    assert kinds == sorted(kinds, key="upf".index)
    users = [User.model_validate(x) for u, b in client.posted if u == "/v1/users/batch" for x in b["users"]]
    posts = [Post.model_validate(x) for u, b in client.posted if u == "/v1/posts/batch" for x in b["posts"]]
    assert [u.user_id for u in users] == [u.user_id for u in world.creators + world.viewers]
    assert posts == world.posts
    # exclude_none: no nulls on the wire.
    assert all(v is not None for _, b in client.posted if b for x in next(iter(b.values())) for v in x.values())
    src, dst = world.follow_pairs()[0]
    assert f"/v1/users/{src}/follows/{dst}" in follow_urls
    assert (report.users, report.posts) == (n_acc, len(world.posts))


def test_load_world_error_names_the_call_and_body(world) -> None:
    client = FakeClient(fail={"/v1/posts/batch": 422})
    with pytest.raises(WorldLoadError, match=r"POST /v1/posts/batch -> HTTP 422: .*validation_error"):
        load_world(client, world, progress=False)


def test_run_population_aggregates(world) -> None:
    client = FakeClient(world.posts)
    rep = run_population(client, world, n_users=8, sessions=3, pages=2, page_size=5, seed=1)
    assert rep.n_users == 8 and len(rep.reports) == 24
    assert len({r.user_id for r in rep.reports}) == 8
    assert rep.mean("items_shown") == 10 and rep.p50("items_shown") == 10
    assert len(rep.by_session("top_topic_share")) == 3
    s = rep.summary()
    assert set(METRICS) <= set(s) and s["feed_latency_ms"]["p50"] >= 0
    assert all(s[m]["mean"] >= 0 for m in METRICS)
    ids = [e["event_id"] for e in client.events]
    assert len(ids) == len(set(ids))
    # Users are a seeded sample: same seed, same users.
    again = run_population(FakeClient(world.posts), world, n_users=8, sessions=1, pages=1, seed=1)
    assert {r.user_id for r in again.reports} == {r.user_id for r in rep.reports}


def test_against_the_real_api(client: TestClient) -> None:
    """End to end through the engine's HTTP API: the contract holds and the feed leans to cooking."""
    world = make_cooking_world(now=None)
    report = load_world(client, world, progress=False)
    assert report.posts == len(world.posts)
    assert world.focus_viewer_id is not None
    agent = SimulatedUser.from_world(client, world, world.focus_viewer_id, seed=1)
    session = agent.run_session(n_pages=3, page_size=10)
    assert session.items_shown == 30 and session.repeated_items == 0
    assert all(world.post(it.post_id) for it in session.items)
    assert session.top_topic_share > 1 / len(world.topics)
    pop = run_population(client, world, n_users=5, sessions=2, pages=2, page_size=5)
    assert len(pop.reports) == 10 and pop.mean("items_shown") > 0
