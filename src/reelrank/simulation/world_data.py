"""A generated world (world.py makes one): creators, viewers, posts, follows, the hidden tastes behind
them, and lookups by id."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reelrank.domain import Edge, EdgeKind, Post, User
from reelrank.simulation.world_config import WorldConfig


@dataclass(slots=True)
class World:
    """Everything generated, plus the hidden truth (`interests`) and lookups by id."""

    config: WorldConfig
    topics: tuple[str, ...]
    creators: list[User]
    viewers: list[User]
    posts: list[Post]
    follow_src: np.ndarray  # follow edges as index arrays into viewers -> creators (see `follows`)
    follow_dst: np.ndarray
    follow_created_at: np.ndarray
    interests: dict[str, dict[str, float]]  # hidden: viewer id -> {topic: weight}, weights sum to 1
    creator_topics: dict[str, list[str]]  # creator id -> its 1-2 main topics, primary first
    focus_viewer_id: str | None = None  # set by single_interest_world: the viewer with the known answer
    _viewer_pos: dict[str, int] = field(init=False, repr=False)
    _creators: dict[str, User] = field(init=False, repr=False)
    _posts: dict[str, Post] = field(init=False, repr=False)
    _follows: list[Edge] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._viewer_pos = {u.user_id: i for i, u in enumerate(self.viewers)}
        self._creators = {u.user_id: u for u in self.creators}
        self._posts = {p.post_id: p for p in self.posts}

    def viewer(self, user_id: str) -> User:
        if user_id not in self._viewer_pos:
            raise KeyError(f"no viewer {user_id!r} in this world")
        return self.viewers[self._viewer_pos[user_id]]

    def creator(self, user_id: str) -> User:
        if user_id not in self._creators:
            raise KeyError(f"no creator {user_id!r} in this world")
        return self._creators[user_id]

    def user(self, user_id: str) -> User:
        """A viewer or a creator."""
        return self.creator(user_id) if user_id in self._creators else self.viewer(user_id)

    def has_account(self, user_id: str) -> bool:
        return user_id in self._viewer_pos or user_id in self._creators

    def post(self, post_id: str) -> Post:
        if post_id not in self._posts:
            raise KeyError(f"no post {post_id!r} in this world")
        return self._posts[post_id]

    def topic_of(self, post_id: str) -> str:
        """The post's primary topic."""
        return self.post(post_id).topics[0]

    def hidden_interests(self, user_id: str) -> dict[str, float]:
        return dict(self.interests[user_id])

    def top_topic(self, user_id: str) -> str:
        """The viewer's strongest hidden topic: what a good feed should mostly show them."""
        weights = self.interests[user_id]
        return max(weights, key=lambda t: weights[t])

    def posts_with_topic(self, topic: str, primary_only: bool = True) -> list[Post]:
        if primary_only:
            return [p for p in self.posts if p.topics[0] == topic]
        return [p for p in self.posts if topic in p.topics]

    def follows(self) -> list[Edge]:
        """Follow edges as domain models, built (and cached) on first call: big worlds have millions
        of them and validating each one would dominate generation time. A method, not a field, so the
        cost is visible at the call site."""
        if self._follows is None:
            self._follows = [
                Edge(src=s, dst=d, kind=EdgeKind.FOLLOW, created_at=t)
                for s, d, t in zip(*self._follow_ids(), self.follow_created_at.tolist(), strict=True)
            ]
        return self._follows

    @property
    def n_follows(self) -> int:
        return len(self.follow_src)

    def _follow_ids(self) -> tuple[list[str], list[str]]:
        v_ids = [u.user_id for u in self.viewers]
        c_ids = [u.user_id for u in self.creators]
        return [v_ids[i] for i in self.follow_src.tolist()], [c_ids[i] for i in self.follow_dst.tolist()]

    def follow_pairs(self) -> list[tuple[str, str]]:
        """(follower id, followed id) for every follow edge, without building Edge models."""
        src, dst = self._follow_ids()
        return list(zip(src, dst, strict=True))

    def followees(self, user_id: str) -> list[str]:
        """Creators this viewer follows (creators follow nobody in a generated world)."""
        if user_id not in self._viewer_pos:
            return []
        mask = self.follow_src == self._viewer_pos[user_id]
        return [self.creators[j].user_id for j in self.follow_dst[mask].tolist()]

    def summary(self) -> dict[str, Any]:
        """Counts and shares that show at a glance whether the world looks as configured."""
        kinds = Counter(p.kind.value for p in self.posts)
        primary = Counter(p.topics[0] for p in self.posts)
        n_v = len(self.viewers)
        hour_ago = self.config.now - 3600
        return {
            "creators": len(self.creators),
            "private_creators": sum(u.is_private for u in self.creators),
            "viewers": n_v,
            "onboarded_viewers": sum(bool(u.interests) for u in self.viewers),
            "posts": len(self.posts),
            "post_kinds": dict(sorted(kinds.items())),
            "topics": len(self.topics),
            "posts_per_topic": dict(primary.most_common()),
            "follows": self.n_follows,
            "follows_per_viewer": round(self.n_follows / max(n_v, 1), 2),
            "restricted_posts": sum(p.category is not None for p in self.posts),
            "sensitive_posts": sum(p.sensitive for p in self.posts),
            "region_limited_posts": sum(bool(p.allowed_regions or p.blocked_regions) for p in self.posts),
            "posts_last_hour": sum(p.created_at >= hour_ago for p in self.posts),
        }
