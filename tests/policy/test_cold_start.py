"""Cold start: a newcomer gets a page at once and personalisation takes over within a few dozen
interactions; a new post gets a vector from its content alone and a fair first exposure."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from reelrank.domain import Post, User
from reelrank.simulation.convergence import established_relevance, mean_curve, newcomer_curve
from reelrank.simulation.population import load_world, run_population
from reelrank.simulation.world import World, WorldConfig, generate_world
from tests.serving.helpers import event, feed, post, user, world


@pytest.fixture(scope="module")
def sim_world() -> World:
    return generate_world(WorldConfig(n_users=60, n_creators=30, n_posts=1500, n_topics=8, seed=3,
                                      onboarded_share=0.0, now=time.time()))


def test_a_new_user_gets_a_full_page_at_once_from_popular_in_region(client: TestClient) -> None:
    world(client, per_topic=8, creators_per_topic=4)
    likes = [event("bob", f"football{i}", "like") for i in range(3)]  # engagement in GB
    assert client.post("/v1/events", json={"events": likes}).status_code == 200
    user(client, "fresh_gb", region="GB")
    page = feed(client, "fresh_gb", page_size=10, explain=True)
    assert len(page["items"]) == 10
    assert any("popular_region" in i["sources"] for i in page["items"])


def test_a_post_gets_its_vector_from_content_alone(client: TestClient) -> None:
    world(client, per_topic=3)
    post(client, "no_media", "c_travel", "travel")  # caption, hashtags, topics; no media vector
    engine = client.app.state.engine  # type: ignore[attr-defined]
    pid, cat = engine.catalogue.pid_of["no_media"], engine.catalogue
    vecs = engine.index.vectors(np.asarray([pid, cat.pid_of["travel0"], cat.pid_of["cooking0"]]))
    assert abs(float(np.linalg.norm(vecs[0])) - 1.0) < 1e-3
    assert float(vecs[0] @ vecs[1]) > float(vecs[0] @ vecs[2])  # closer to its own topic


def test_a_new_creators_first_post_gets_impressions(client: TestClient, sim_world: World) -> None:
    load_world(client, sim_world, progress=False)
    run_population(client, sim_world, n_users=15, sessions=1, pages=2, seed=1)  # some history and popularity
    topic = sim_world.topics[3]
    text = next(p for p in sim_world.posts if p.topics[0] == topic)
    client.post("/v1/users", json=User(user_id="newbie_creator", region="US").model_dump(mode="json"))
    new = Post(post_id="first_post", creator_id="newbie_creator", caption=text.caption, hashtags=text.hashtags,
               topics=[topic], duration_ms=20_000)
    assert client.post("/v1/posts", json=new.model_dump(mode="json")).status_code == 201
    fans = [v for v, w in sim_world.interests.items() if w.get(topic, 0.0) >= 0.2][:15]
    shown = sum("first_post" in {i["post_id"] for i in feed(client, v, page_size=10)["items"]} for v in fans)
    assert shown >= 1, f"never shown to {len(fans)} viewers who like {topic}"


def test_a_newcomer_converges_to_an_established_users_relevance(client: TestClient, sim_world: World) -> None:
    load_world(client, sim_world, progress=False)
    tastes = [v.user_id for v in sim_world.viewers[:4]]
    established = established_relevance(client, sim_world, tastes, warm_sessions=2, pages=4)
    curve = mean_curve([newcomer_curve(client, sim_world, t, f"newcomer{i}", sessions=1, pages=6, seed=i)
                        for i, t in enumerate(tastes)])
    assert curve.relevance[0] < established  # the first page knows nothing about the newcomer
    reached = curve.first_reaching(0.8 * established)
    assert reached is not None and reached <= 50, (established, curve)
