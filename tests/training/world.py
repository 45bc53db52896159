"""Tiny worlds where the right answer is known.

build_world: posts are spread over TOPICS; every viewer likes (and completes) posts of their own topic
and skips a few of the others. A model trained on these logs must retrieve the viewer's topic.
write_impressions: logged impressions for the ranker, likes driven by similarity and like rate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reelrank.domain import Event, EventKind, Post, User
from reelrank.engine import Engine
from reelrank.ranking.ranking_features import column_of
from reelrank.state.records.base import ImpressionRecord
from reelrank.state.records.sqlite import SqliteRecordStore

TOPICS = ("cooking", "football", "travel", "music")
WORDS = {
    "cooking": "pasta garlic oven recipe",
    "football": "goal stadium match striker",
    "travel": "beach island flight hotel",
    "music": "guitar concert song album",
}


def topic_of_user(i: int) -> str:
    return TOPICS[i % len(TOPICS)]


def build_world(engine: Engine, n_users: int = 48, posts_per_topic: int = 30, likes: int = 14, skips: int = 4,
                seed: int = 0, t0: float = 1.7e9) -> None:
    rng = np.random.default_rng(seed)
    creators = [User(user_id=f"creator-{t}-{j}") for t in TOPICS for j in range(2)]
    viewers = [User(user_id=f"viewer{i}", region="FR" if i % 2 else "US") for i in range(n_users)]
    engine.account_writer.put_users(creators + viewers)
    posts = [Post(post_id=f"{t}-{j}", creator_id=f"creator-{t}-{j % 2}", caption=f"{WORDS[t]} number {j}",
                  topics=[t], duration_ms=20_000, created_at=t0 - 86_400 * 3)
             for t in TOPICS for j in range(posts_per_topic)]
    engine.post_writer.put(posts)
    events: list[Event] = []
    for i, v in enumerate(viewers):
        mine = topic_of_user(i)
        others = [t for t in TOPICS if t != mine]
        liked = rng.choice(posts_per_topic, size=likes, replace=False)
        ts = t0
        for n, j in enumerate(liked):
            ts += 60
            events.append(Event(event_id=f"e{i}-l{n}", user_id=v.user_id, post_id=f"{mine}-{j}", kind=EventKind.LIKE,
                                ts=ts))
            if n < skips:
                t = others[n % len(others)]
                ts += 60
                events.append(Event(event_id=f"e{i}-s{n}", user_id=v.user_id, kind=EventKind.SKIP, ts=ts,
                                    post_id=f"{t}-{rng.integers(posts_per_topic)}"))
    for s in range(0, len(events), 500):
        engine.event_writer.ingest(events[s : s + 500])


def write_impressions(path: Path, n: int, seed: int = 0, t0: float = 1.7e9) -> None:
    """Logged impressions whose likes follow similarity + like rate and skips low similarity."""
    rng = np.random.default_rng(seed)
    sim, rate, pos = rng.uniform(-1, 1, n), rng.uniform(0, 0.3, n), np.arange(n) % 10
    p_like = 1 / (1 + np.exp(-(2.5 * sim + 5 * rate - 1.5 - 0.1 * pos)))
    p_skip = 1 / (1 + np.exp(-(-2.5 * sim - 0.5)))
    imps, events = [], []
    for i in range(n):
        ts = t0 + i
        imps.append(ImpressionRecord(f"r{i // 10}", f"u{i % 40}", f"p{i}", ts, "reels", int(pos[i]),
                                     scores={column_of("similarity"): float(sim[i]),
                                             column_of("like_rate"): float(rate[i])}))
        for kind, p in ((EventKind.LIKE, p_like[i]), (EventKind.SKIP, p_skip[i])):
            if rng.uniform() < p:
                events.append(Event(event_id=f"e{i}{kind.value}", user_id=f"u{i % 40}", post_id=f"p{i}", kind=kind,
                                    ts=ts + 5))
    store = SqliteRecordStore(path)
    try:
        store.append_impressions(imps)
        store.append_events(events)
    finally:
        store.close()
