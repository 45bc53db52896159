"""The synthetic world: deterministic, consistent, and carrying the hidden truth tests rely on."""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pytest

from reelrank.domain import Edge, EdgeKind, Post, PostKind, User
from reelrank.simulation.topics import TOPIC_NAMES, TOPICS, get_topic, sample_caption
from reelrank.simulation.world import (
    DAY,
    WorldConfig,
    generate_world,
    make_cooking_world,
    single_interest_world,
)

NOW = 1_750_000_000.0


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(n_users=400, n_creators=120, n_posts=4_000, seed=3, now=NOW))


def _dump(w) -> tuple:
    return (
        [p.model_dump() for p in w.posts],
        [u.model_dump() for u in w.viewers + w.creators],
        w.interests,
        w.follow_pairs(),
    )


def test_same_seed_same_world() -> None:
    cfg = WorldConfig(n_users=100, n_creators=30, n_posts=500, seed=11, now=NOW)
    assert _dump(generate_world(cfg)) == _dump(generate_world(cfg))
    other = generate_world(WorldConfig(n_users=100, n_creators=30, n_posts=500, seed=12, now=NOW))
    assert _dump(other) != _dump(generate_world(cfg))


def test_sizes_and_ids(world) -> None:
    cfg = world.config
    assert (len(world.viewers), len(world.creators), len(world.posts)) == (cfg.n_users, cfg.n_creators, cfg.n_posts)
    ids = [u.user_id for u in world.viewers + world.creators]
    assert len(set(ids)) == len(ids)
    assert len({p.post_id for p in world.posts}) == len(world.posts)
    assert world.topics == TOPIC_NAMES[: cfg.n_topics]


def test_posts_are_consistent(world) -> None:
    topics = set(world.topics)
    for p in world.posts:
        assert world.creator(p.creator_id).user_id == p.creator_id
        assert p.topics and set(p.topics) <= topics and len(set(p.topics)) == len(p.topics)
        assert world.topic_of(p.post_id) == p.topics[0]
        assert (p.duration_ms is not None) == (p.kind is PostKind.REEL)
        assert NOW - world.config.days * DAY - 1 <= p.created_at <= NOW
        assert p.created_at > world.creator(p.creator_id).created_at
        assert p.caption and p.hashtags and all(not h.startswith("#") for h in p.hashtags)
        if p.category in ("gambling", "alcohol"):
            assert p.min_age == 18
    # Most posts follow their creator's style.
    on_style = sum(p.topics[0] in world.creator_topics[p.creator_id] for p in world.posts)
    assert on_style / len(world.posts) > 0.8


def test_world_has_the_messy_parts(world) -> None:
    s = world.summary()
    assert s["private_creators"] > 0
    assert s["restricted_posts"] > 0 and s["sensitive_posts"] > 0 and s["region_limited_posts"] > 0
    assert s["posts_last_hour"] > 0
    assert set(s["post_kinds"]) == {"reel", "photo", "carousel"}
    assert s["post_kinds"]["reel"] > s["post_kinds"]["photo"] > 0
    assert 0 < s["onboarded_viewers"] < len(world.viewers)
    assert {u.region for u in world.viewers} == set(world.config.regions)
    limited = [p for p in world.posts if p.allowed_regions or p.blocked_regions]
    assert all(set((p.allowed_regions or []) + p.blocked_regions) <= set(world.config.regions) for p in limited)


def test_hidden_interests_are_sparse_and_normalised(world) -> None:
    for u in world.viewers:
        w = world.interests[u.user_id]
        assert set(w) <= set(world.topics)
        assert 2 <= len(w) <= 6
        assert math.isclose(sum(w.values()), 1.0, rel_tol=1e-9)
        assert max(w.values()) >= 0.2
        assert world.top_topic(u.user_id) == max(w, key=w.__getitem__)
        # Onboarding interests, when given, are the viewer's strong hidden topics.
        assert set(u.interests) <= set(w)
        assert all(w[t] >= 0.15 for t in u.interests)


def test_follow_edges_point_at_existing_accounts(world) -> None:
    edges = world.follows()
    assert edges and len(edges) == world.n_follows
    assert all(isinstance(e, Edge) and e.kind is EdgeKind.FOLLOW for e in edges)
    assert len({(e.src, e.dst) for e in edges}) == len(edges)
    for e in edges:
        world.viewer(e.src)
        world.creator(e.dst)
    matched = sum(world.creator_topics[e.dst][0] in world.interests[e.src] for e in edges)
    assert matched / len(edges) > 0.6
    some = edges[0].src
    assert set(world.followees(some)) == {e.dst for e in edges if e.src == some}


def test_lookups_raise_clear_errors(world) -> None:
    with pytest.raises(KeyError, match="no post"):
        world.post("nope")
    with pytest.raises(KeyError, match="no viewer"):
        world.viewer(world.creators[0].user_id)
    assert world.user(world.creators[0].user_id).user_id == world.creators[0].user_id
    with pytest.raises(KeyError, match="unknown topic"):
        WorldConfig(topics=("cooking", "knitting"))
    with pytest.raises(ValueError, match="n_posts"):
        WorldConfig(n_posts=0)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def test_captions_of_a_topic_share_vocabulary(world) -> None:
    """A bag-of-words nearest-centroid classifier recovers the topic: what a text encoder needs."""
    posts = world.posts
    docs = [Counter(_tokens(p.caption + " " + " ".join(p.hashtags))) for p in posts]
    vocab = {w: i for i, w in enumerate(sorted({t for d in docs for t in d}))}
    x = np.zeros((len(docs), len(vocab)))
    for r, d in enumerate(docs):
        for t, c in d.items():
            x[r, vocab[t]] = c
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.array([world.topics.index(p.topics[0]) for p in posts])
    half = len(posts) // 2
    centroids = np.stack([x[:half][labels[:half] == t].mean(axis=0) for t in range(len(world.topics))])
    predicted = (x[half:] @ centroids.T).argmax(axis=1)
    assert (predicted == labels[half:]).mean() > 0.9
    # ... while varying: few exact repeats.
    assert len({p.caption for p in posts}) > 0.5 * len(posts)


def test_topic_catalogue() -> None:
    assert len(TOPICS) >= 20
    rng = np.random.default_rng(0)
    for name in TOPIC_NAMES:
        caps = {sample_caption(name, rng)[0] for _ in range(60)}
        assert len(caps) > 15, name
        caption, tags = sample_caption(name, rng)
        assert "{" not in caption and 2 <= len(tags) <= 4
        Post.model_validate(
            {"post_id": "p1", "creator_id": "c1", "caption": caption, "hashtags": tags, "topics": [name]}
        )
        assert get_topic(name).vocabulary


def test_media_vectors_are_topical() -> None:
    w = generate_world(WorldConfig(n_users=10, n_creators=20, n_posts=600, n_topics=5, media_dim=16, seed=2, now=NOW))
    v = np.array([p.media_vector for p in w.posts])
    assert v.shape == (600, 16)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    t = np.array([w.topics.index(p.topics[0]) for p in w.posts])
    sims = v @ v.T
    same = sims[t[:, None] == t[None, :]].mean()
    cross = sims[t[:, None] != t[None, :]].mean()
    assert same > cross + 0.3


def test_single_interest_world_has_a_known_answer() -> None:
    w = single_interest_world("cooking", now=NOW)
    fan = w.focus_viewer_id
    assert fan == "cooking_fan"
    assert w.interests[fan] == {"cooking": 1.0}
    assert w.top_topic(fan) == "cooking"
    viewer: User = w.viewer(fan)
    age = viewer.age(NOW)
    assert viewer.interests == [] and age is not None and age >= 18
    assert "cooking" in w.topics
    cooking = w.posts_with_topic("cooking")
    assert len(cooking) >= len(w.posts) / len(w.topics) / 3
    s = w.summary()
    assert s["restricted_posts"] == s["sensitive_posts"] == s["region_limited_posts"] == s["private_creators"] == 0
    assert all(w.creator(c) for c in w.followees(fan))
    assert _dump(make_cooking_world(now=NOW)) == _dump(w)
    onboarded = single_interest_world("pets", onboard=True, now=NOW)
    assert onboarded.viewer("pets_fan").interests == ["pets"]


def test_hundred_thousand_posts() -> None:
    w = generate_world(WorldConfig(n_users=2_000, n_creators=1_000, n_posts=100_000, seed=1, now=NOW))
    assert len(w.posts) == 100_000
    assert w.posts[-1].post_id == "post_0099999"
