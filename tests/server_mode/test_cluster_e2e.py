"""End to end: two serving processes and one worker as real subprocesses on PostgreSQL and Redis,
driven by simulated users over HTTP (slow: CI runs it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis

from reelrank.config import Settings
from reelrank.simulation.agent import SimulatedUser
from reelrank.simulation.population import load_world
from reelrank.simulation.world import WorldConfig, generate_world
from tests.server_mode.cluster import Cluster

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(server_settings: Settings, tmp_path: Path) -> Iterator[Cluster]:
    assert server_settings.database_url and server_settings.redis_url
    c = Cluster(tmp_path / "data", server_settings.database_url, server_settings.redis_url,
                server_settings.backends.database_schema, server_settings.backends.redis_prefix)
    try:
        c.start_server()  # first, alone: it creates the schema
        c.wait_ready()
        c.start_server()
        c.start_worker()
        c.wait_ready()
        yield c
    finally:
        c.stop()


def test_two_servers_one_worker_serve_consistent_personalised_pages(cluster: Cluster) -> None:
    a_url, b_url = cluster.urls
    world = generate_world(WorldConfig(n_users=12, n_creators=15, n_posts=600, n_topics=8, seed=3))
    with httpx.Client(base_url=a_url, timeout=30) as a, httpx.Client(base_url=b_url, timeout=30) as b:
        load_world(a, world, progress=False)
        deadline = time.monotonic() + 10
        while b.get("/healthz").json()["indexed"] < len(world.posts):
            assert time.monotonic() < deadline, "B never caught up with the catalogue written through A"
            time.sleep(0.1)
        assert b.get("/healthz").json()["users"] == len(world.creators) + len(world.viewers)

        viewers = [u.user_id for u in world.viewers[:6]]
        first, last = [], []
        for i, uid in enumerate(viewers):
            via = (a, b)[i % 2]
            other = (b, a)[i % 2]
            agent = SimulatedUser.from_world(via, world, uid, seed=i)
            reports = [agent.run_session(n_pages=3, surface="explore") for _ in range(2)]
            first.append(reports[0].topic_share_per_page[0])
            agent.client = other  # the same person, now served by the other process
            rep = agent.run_session(n_pages=3, surface="explore")
            last.append(float(np.mean(rep.topic_share_per_page)))
            assert rep.repeated_items == 0
            # consistency: what the person saw through one process is not served again by the other
            seen = {it.post_id for r in reports for it in r.items}
            page = other.get("/v1/feed", params={"user_id": uid, "surface": "explore", "page_size": 10}).json()
            assert page["items"] and not seen & {it["post_id"] for it in page["items"]}
            # a cursor from one process continues on the other (shared secret, served set in Redis)
            p1 = via.get("/v1/feed", params={"user_id": uid, "surface": "explore", "page_size": 10}).json()
            p2 = other.get("/v1/feed", params={"user_id": uid, "surface": "explore", "page_size": 10,
                                               "cursor": p1["next_cursor"]}).json()
            assert not {i["post_id"] for i in p1["items"]} & {i["post_id"] for i in p2["items"]}
        # personalised: after sessions on either process, pages lean towards each person's taste
        assert np.mean(last) > np.mean(first) or np.mean(last) > 0.4, (first, last)

        print("top-topic share, first page vs sessions on the other process:", np.mean(first), np.mean(last))
        # the worker consumed every event batch both processes published, in both groups
        r = redis.Redis.from_url(cluster.redis_url)
        deadline = time.monotonic() + 10
        while True:
            groups = {g["name"].decode(): g for g in r.xinfo_groups(f"{cluster.prefix}:events")}
            if {"features", "trends"} <= set(groups) and all(
                    g["pending"] == 0 and g["lag"] == 0 for g in groups.values()):
                break
            assert time.monotonic() < deadline, groups
            time.sleep(0.1)
        assert r.xlen(f"{cluster.prefix}:events") > 0
        r.close()

        # a post created through A is retrievable through B within a second
        a.post("/v1/users/batch", json={"users": [{"user_id": "nc"}, {"user_id": "nv"}]}).raise_for_status()
        a.post("/v1/users/nv/follows/nc").raise_for_status()
        t0 = time.monotonic()
        a.post("/v1/posts", json={"post_id": "fresh", "creator_id": "nc", "caption": "brand new",
                                  "created_at": time.time()}).raise_for_status()
        took = None
        while time.monotonic() - t0 < 5:
            items = b.get("/v1/feed", params={"user_id": "nv", "surface": "explore", "page_size": 20}).json()["items"]
            if "fresh" in {i["post_id"] for i in items}:
                took = time.monotonic() - t0
                break
            time.sleep(0.02)
        assert took is not None and took < 1.0, took
