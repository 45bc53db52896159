"""An independent check of served pages against the safety and visibility rules.

Written from the domain objects (users, posts, edges, reports), not from the engine's internal
columns, so a bug in a filter or in the catalogue's bookkeeping shows up as a violation. Used by the
property-based tests (tests/policy/) and the policy benchmark (bench/bench_policy.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from reelrank.domain import Post, PostKind, PostStatus, User

RULES = ("duplicate", "unknown_post", "removed", "reported_out", "own_post", "blocked", "blocked_by", "muted_creator",
         "private", "region", "age", "sensitive", "category", "muted_topic", "not_interested", "reported_by_viewer",
         "surface")


@dataclass
class SafetyAudit:
    users: dict[str, User]
    posts: dict[str, Post]
    report_threshold: int
    blocks: set[tuple[str, str]] = field(default_factory=set)  # (blocker, blocked)
    mutes: set[tuple[str, str]] = field(default_factory=set)  # (muter, muted)
    follows: set[tuple[str, str]] = field(default_factory=set)  # (follower, followed)
    reports: dict[str, set[str]] = field(default_factory=dict)  # post id -> reporters
    not_interested: dict[str, set[str]] = field(default_factory=dict)  # viewer -> posts

    @classmethod
    def of(cls, users: Iterable[User], posts: Iterable[Post], report_threshold: int) -> SafetyAudit:
        return cls({u.user_id: u for u in users}, {p.post_id: p for p in posts}, report_threshold)

    def report(self, reporter: str, post_id: str) -> None:
        self.reports.setdefault(post_id, set()).add(reporter)

    def mark_not_interested(self, viewer: str, post_id: str) -> None:
        self.not_interested.setdefault(viewer, set()).add(post_id)

    def violations(self, viewer_id: str, surface: str, post_ids: Sequence[str], now: float) -> list[tuple[str, str]]:
        """(post id, rule) for every rule a page breaks; empty when the page is clean."""
        viewer = self.users[viewer_id]
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for pid in post_ids:
            if pid in seen:
                out.append((pid, "duplicate"))
            seen.add(pid)
            post = self.posts.get(pid)
            if post is None:
                out.append((pid, "unknown_post"))
                continue
            out.extend((pid, rule) for rule in self._post_rules(viewer, post, surface, now))
        return out

    def _post_rules(self, viewer: User, post: Post, surface: str, now: float) -> list[str]:
        v, c = viewer.user_id, post.creator_id
        broken = []
        if post.status is not PostStatus.ACTIVE:
            broken.append("removed")
        if len(self.reports.get(post.post_id, ())) >= self.report_threshold:
            broken.append("reported_out")
        if c == v:
            broken.append("own_post")
        if (v, c) in self.blocks:
            broken.append("blocked")
        if (c, v) in self.blocks:
            broken.append("blocked_by")
        if (v, c) in self.mutes:
            broken.append("muted_creator")
        creator = self.users.get(c)
        if creator is not None and creator.is_private and (v, c) not in self.follows and c != v:
            broken.append("private")
        if (post.allowed_regions is not None and viewer.region not in post.allowed_regions) \
                or viewer.region in post.blocked_regions:
            broken.append("region")
        age = viewer.age(now)
        if post.min_age and (age is None or age < post.min_age):
            broken.append("age")
        if post.sensitive and not viewer.settings.show_sensitive:
            broken.append("sensitive")
        if post.category is not None and post.category in viewer.settings.hidden_categories:
            broken.append("category")
        if set(post.topics) & set(viewer.controls.muted):
            broken.append("muted_topic")
        if post.post_id in self.not_interested.get(v, ()):
            broken.append("not_interested")
        if v in self.reports.get(post.post_id, ()):
            broken.append("reported_by_viewer")
        if surface == "reels" and post.kind is not PostKind.REEL:
            broken.append("surface")
        return broken
