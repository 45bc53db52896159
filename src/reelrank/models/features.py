"""Model inputs for posts and users as numpy arrays (no torch): hashed ids, buckets, content vectors.

Ids are hashed into fixed-size tables, so a post, creator, topic or user the model never saw still
maps to a row and the tables never resize. An unseen *post* gets its id embedding switched off
(`known` = False): training drops ids at random (id dropout) so the tower knows how to place a post
from its creator, topics, content vector, duration and age alone. Hashing is blake2b with a fixed
key, stable across processes (unlike `hash()`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

MAX_TOPICS = 4  # topics per post (and onboarding interests per user) the model reads
DURATION_BUCKETS = 12  # 0 = unknown, then log2-spaced seconds
AGE_BUCKETS = 12  # 0 = unknown/future, then log2-spaced days
BIRTH_BUCKETS = 10  # 0 = unknown, then decades


def stable_hash(namespace: str, value: str, buckets: int) -> int:
    """A value's row in a table of `buckets` rows; row 0 is reserved for padding / 'none'."""
    digest = hashlib.blake2b(f"{namespace}\x1f{value}".encode(), digest_size=8).digest()
    return 1 + int.from_bytes(digest, "little") % (buckets - 1)


def hash_many(namespace: str, values: Sequence[str], buckets: int) -> np.ndarray:
    return np.fromiter((stable_hash(namespace, v, buckets) for v in values), dtype=np.int64, count=len(values))


def hash_pair(namespace: str, values: Sequence[str], buckets: int) -> np.ndarray:
    """(N, 2) rows from two independent hashes: the model sums both rows, so two ids share their whole
    embedding only if both hashes collide (~(n/buckets)^2 instead of ~n/buckets)."""
    return np.stack([hash_many(f"{namespace}:a", values, buckets), hash_many(f"{namespace}:b", values, buckets)],
                    axis=1)


def duration_bucket(duration_ms: int | None) -> int:
    if not duration_ms or duration_ms <= 0:
        return 0
    return int(min(DURATION_BUCKETS - 1, 1 + max(0, math.floor(math.log2(max(duration_ms / 1000.0, 1.0))))))


def age_bucket(created_at: float, now: float) -> int:
    """Age in log2 days: bucket 1 is under a day old; 0 means unknown or from the future."""
    age_days = (now - created_at) / 86_400.0
    if not math.isfinite(age_days) or age_days < 0:
        return 0
    return int(min(AGE_BUCKETS - 1, 1 + max(0, math.floor(math.log2(max(age_days, 1.0))))))


def birth_bucket(birth_year: int | None) -> int:
    if birth_year is None:
        return 0
    return int(min(BIRTH_BUCKETS - 1, max(1, (birth_year - 1930) // 10 + 1)))


@dataclass
class ItemFeatures:
    """Per-post model inputs, row i for post i (rows line up with pids in training)."""

    id_hash: np.ndarray  # (N, 2) int64
    known: np.ndarray  # (N,) bool: the model saw this post id in training
    creator_hash: np.ndarray  # (N,) int64
    topic_hash: np.ndarray  # (N, MAX_TOPICS) int64, 0 = none
    kind: np.ndarray  # (N,) int64: reel / photo / carousel
    duration: np.ndarray  # (N,) int64 bucket
    age: np.ndarray  # (N,) int64 bucket
    content: np.ndarray  # (N, Dc) float32 content vector

    def __len__(self) -> int:
        return len(self.id_hash)

    def take(self, rows: np.ndarray) -> ItemFeatures:
        return ItemFeatures(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    @classmethod
    def build(cls, post_ids: Sequence[str], creator_ids: Sequence[str], topics: Sequence[Sequence[str]],
              kinds: np.ndarray, durations_ms: Sequence[int | None], created_at: np.ndarray, now: float,
              content: np.ndarray, known: np.ndarray, buckets: ItemBuckets) -> ItemFeatures:
        n = len(post_ids)
        topic_hash = np.zeros((n, MAX_TOPICS), dtype=np.int64)
        for i, ts in enumerate(topics):
            for j, t in enumerate(list(ts)[:MAX_TOPICS]):
                topic_hash[i, j] = stable_hash("topic", t.lower(), buckets.topics)
        return cls(
            id_hash=hash_pair("post", post_ids, buckets.items),
            known=np.asarray(known, dtype=bool),
            creator_hash=hash_many("creator", creator_ids, buckets.creators),
            topic_hash=topic_hash,
            kind=np.asarray(kinds, dtype=np.int64),
            duration=np.fromiter((duration_bucket(d) for d in durations_ms), dtype=np.int64, count=n),
            age=np.fromiter((age_bucket(float(c), now) for c in created_at), dtype=np.int64, count=n),
            content=np.ascontiguousarray(content, dtype=np.float32),
        )


@dataclass
class UserFeatures:
    """Per-user profile inputs, row u for user u."""

    id_hash: np.ndarray  # (U, 2) int64
    known: np.ndarray  # (U,) bool
    region_hash: np.ndarray  # (U,) int64
    language_hash: np.ndarray  # (U,) int64
    birth: np.ndarray  # (U,) int64 bucket
    interest_hash: np.ndarray  # (U, MAX_TOPICS) int64, 0 = none

    def __len__(self) -> int:
        return len(self.id_hash)

    def take(self, rows: np.ndarray) -> UserFeatures:
        return UserFeatures(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})

    @classmethod
    def build(cls, user_ids: Sequence[str], regions: Sequence[str], languages: Sequence[str],
              birth_years: Sequence[int | None], interests: Sequence[Sequence[str]], known: np.ndarray,
              buckets: ItemBuckets) -> UserFeatures:
        n = len(user_ids)
        interest_hash = np.zeros((n, MAX_TOPICS), dtype=np.int64)
        for i, ts in enumerate(interests):
            for j, t in enumerate(list(ts)[:MAX_TOPICS]):
                interest_hash[i, j] = stable_hash("topic", t.lower(), buckets.topics)
        return cls(
            id_hash=hash_pair("user", user_ids, buckets.users),
            known=np.asarray(known, dtype=bool),
            region_hash=hash_many("region", regions, buckets.regions),
            language_hash=hash_many("language", languages, buckets.regions),
            birth=np.fromiter((birth_bucket(b) for b in birth_years), dtype=np.int64, count=n),
            interest_hash=interest_hash,
        )


@dataclass(frozen=True)
class ItemBuckets:
    """Hash table sizes (rows, row 0 reserved)."""

    items: int = 1 << 16
    creators: int = 1 << 14
    topics: int = 1 << 12
    users: int = 1 << 16
    regions: int = 1 << 10

    @classmethod
    def for_sizes(cls, n_items: int, n_creators: int, n_users: int) -> ItemBuckets:
        """Tables 2-4x the number of distinct ids (two hashes each, see hash_pair)."""

        def size(n: int, floor: int) -> int:
            return max(floor, 1 << math.ceil(math.log2(max(n, 1) * 2 + 1)))

        return cls(items=size(n_items, 1024), creators=size(n_creators, 256), topics=1 << 12,
                   users=size(n_users, 1024), regions=1 << 10)
