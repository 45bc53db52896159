"""The world bench_realtime.py runs on: a store with topical posts, creators and viewers, and event makers.

Built straight through the engine's writers (posts carry supplied vectors, so nothing is MiniLM-
encoded: the engine runs the hashing encoder). Topic t's posts cluster around a centroid, so a viewer
with onboarding interest t gets t's posts from ANN. Small creators (few posts, no audience) post the
"burst" posts: 8 to 20 hours old, past the fresh pool and the exploration boost but young enough to
trend, so a post reaches a page through the trending pool or not at all. Everything is seeded.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
N_TOPICS = 20
KINDS = ("impression", "view", "like", "skip", "save", "share")
KIND_P = (0.40, 0.35, 0.12, 0.09, 0.02, 0.02)


def settings_for(data_dir: Path, **overrides: Any) -> Any:
    from reelrank.config import EncoderSettings, IndexSettings, Settings

    s = Settings(data_dir=data_dir, encoder=EncoderSettings(kind="hashing"), index=IndexSettings(snapshot_every_s=0))
    for k, v in overrides.items():
        setattr(s, k, v)
    return s


@dataclass
class World:
    n_posts: int
    viewers: list[str]
    topics: list[str]
    small_creators: list[str]  # the burst posts' creators: no history, no followers
    burst_posts: dict[str, str] = field(default_factory=dict)  # post id -> topic, 8-20 hours old
    centroids: np.ndarray = field(default_factory=lambda: np.zeros((0, DIM), dtype=np.float32))


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def build(engine: Any, n_posts: int, n_viewers: int, seed: int = 0) -> World:
    """Accounts and posts through the engine's writers; returns what the benchmarks need to know."""
    from reelrank.domain import Post, User

    rng = np.random.default_rng(seed)
    topics = [f"topic{i:02d}" for i in range(N_TOPICS)]
    centroids = unit(rng.normal(size=(N_TOPICS, DIM)))
    n_creators = max(20, n_posts // 100)
    n_small = max(20, n_posts // 1000)
    creators = [f"creator{i:05d}" for i in range(n_creators)]
    small = [f"small{i:04d}" for i in range(n_small)]
    viewers = [f"viewer{i:05d}" for i in range(n_viewers)]
    users = [User(user_id=u) for u in creators + small]
    users += [User(user_id=v, interests=[topics[i % N_TOPICS]]) for i, v in enumerate(viewers)]
    for i in range(0, len(users), 5000):
        engine.account_writer.put_users(users[i : i + 5000])
    now = time.time()
    n_burst = n_small * 3
    n_regular = n_posts - n_burst
    world = World(n_posts, viewers, topics, small, centroids=centroids)
    for start in range(0, n_posts, 5000):
        idx = np.arange(start, min(start + 5000, n_posts))
        t = rng.integers(0, N_TOPICS, len(idx))
        vecs = unit(centroids[t] + 0.6 * unit(rng.normal(size=(len(idx), DIM))))
        posts = []
        for j, i in enumerate(idx.tolist()):
            topic = topics[int(t[j])]
            pid = f"post{i:07d}"
            if i < n_regular:  # the last two days, oldest first (pids grow with time, as on a platform)
                creator, created = creators[i % n_creators], now - 48 * 3600 + 47.5 * 3600 * i / n_regular
            else:
                k = i - n_regular
                creator, created = small[k % n_small], now - 20 * 3600 + 12 * 3600 * k / n_burst
                world.burst_posts[pid] = topic
            posts.append(Post(post_id=pid, creator_id=creator, topics=[topic], duration_ms=20_000,
                              created_at=created, caption=f"{topic} clip {i}"))
        engine.post_writer.put(posts, vecs)
    return world


class EventMaker:
    """Realistic event dicts (impressions, views with watch time, likes, skips, saves, shares), unique ids."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.rng = np.random.default_rng(seed)
        self.seq = itertools.count()
        self.tag = f"rt{int(time.time() * 1000) % 10**9}"

    def dicts(self, n: int, post_range: tuple[int, int] | None = None) -> list[dict[str, Any]]:
        rng = self.rng
        lo, hi = post_range or (0, self.world.n_posts)
        users = rng.integers(0, len(self.world.viewers), n).tolist()
        posts = rng.integers(lo, hi, n).tolist()
        kinds = rng.choice(len(KINDS), n, p=KIND_P).tolist()
        ratio = rng.beta(2.0, 2.0, n).tolist()
        now = time.time()
        out = []
        for i in range(n):
            e: dict[str, Any] = {"event_id": f"{self.tag}-{next(self.seq)}", "user_id": self.world.viewers[users[i]],
                                 "post_id": f"post{posts[i]:07d}", "kind": KINDS[kinds[i]], "ts": now}
            if e["kind"] == "view":
                e["watch_ms"], e["duration_ms"] = int(ratio[i] * 20_000), 20_000
            out.append(e)
        return out

    def events(self, n: int, **kw: Any) -> list[Any]:
        from reelrank.domain import Event

        return [Event.model_validate(d) for d in self.dicts(n, **kw)]

    def engagement(self, post_id: str, users: list[str], kinds: tuple[str, ...] = ("like", "share")) -> list[Any]:
        from reelrank.domain import Event

        now = time.time()
        return [Event.model_validate({"event_id": f"{self.tag}-{next(self.seq)}", "user_id": u, "post_id": post_id,
                                      "kind": k, "ts": now}) for u in users for k in kinds]
