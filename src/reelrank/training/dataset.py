"""Training data from the engine's own logs: the record store's posts, users and events.

Rows line up with the store's dense ids: item row = pid, user row = uid (row 0 is padding), so the
arrays can be indexed by what the catalogue and the account directory already use.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from reelrank.domain import User
from reelrank.features.signals import event_weight
from reelrank.models.features import ItemBuckets, ItemFeatures, UserFeatures
from reelrank.models.sequence import Tokens, tokenize
from reelrank.state.catalogue import KIND_CODES
from reelrank.state.records.base import RecordStore


@dataclass(frozen=True)
class DataWindow:
    first_ts: float
    last_ts: float
    n_events: int
    n_users: int
    n_posts: int

    def as_dict(self) -> dict[str, float | int]:
        return {"first_ts": self.first_ts, "last_ts": self.last_ts, "n_events": self.n_events,
                "n_users": self.n_users, "n_posts": self.n_posts}


@dataclass
class LogData:
    """Posts by pid, users by uid, and each user's token sequence in time order."""

    post_ids: list[str]  # (P,) "" for row 0 and gaps
    creator_ids: list[str]  # (P,)
    topics: list[list[str]]  # (P,)
    kinds: np.ndarray  # (P,) int64
    durations: list[int | None]  # (P,)
    created_at: np.ndarray  # (P,) float64
    content: np.ndarray  # (P, Dc) float32
    active: np.ndarray  # (P,) bool: live posts (retrievable, sampled as negatives)
    users: list[User | None]  # (U,) by uid
    seqs: dict[int, Tokens] = field(default_factory=dict)  # uid -> tokens
    window: DataWindow = DataWindow(0.0, 0.0, 0, 0, 0)

    @property
    def n_items(self) -> int:
        return len(self.post_ids)

    def item_features(self, known: np.ndarray, buckets: ItemBuckets, now: float | None = None) -> ItemFeatures:
        return ItemFeatures.build(self.post_ids, self.creator_ids, self.topics, self.kinds, self.durations,
                                  self.created_at, self.window.last_ts if now is None else now, self.content,
                                  known, buckets)

    def user_features(self, uids: Sequence[int], known: np.ndarray, buckets: ItemBuckets) -> UserFeatures:
        users = [self.users[u] if 0 <= u < len(self.users) else None for u in uids]
        return UserFeatures.build(
            [u.user_id if u else "" for u in users], [u.region if u else "" for u in users],
            [u.language if u else "" for u in users], [u.birth_year if u else None for u in users],
            [u.interests if u else [] for u in users], known, buckets)

    def buckets(self) -> ItemBuckets:
        creators = len(set(self.creator_ids))
        return ItemBuckets.for_sizes(int(self.active.sum()) or self.n_items, creators, len(self.users))


def load_log_data(records: RecordStore, content_dim: int, since_ts: float = 0.0, until_ts: float = math.inf,
                  progress: bool = True) -> LogData:
    """Read posts, users and events (ts in [since_ts, until_ts)) from a record store."""
    users: list[User | None] = [None]
    for batch in records.scan_users():
        for rec in batch:
            users.extend([None] * (rec.uid + 1 - len(users)))
            users[rec.uid] = rec.user
    n_posts = records.count_posts()
    p = n_posts + 1
    post_ids, creator_ids = [""] * p, [""] * p
    topics: list[list[str]] = [[] for _ in range(p)]
    kinds, created = np.zeros(p, np.int64), np.zeros(p, np.float64)
    durations: list[int | None] = [None] * p
    content, active = np.zeros((p, content_dim), np.float32), np.zeros(p, bool)
    bar = tqdm(total=n_posts, desc="posts", unit="post", disable=not progress)
    for rows in records.scan_posts():
        for r in rows:
            if r.pid >= len(post_ids):  # pids can exceed the count when posts were never contiguous
                grow = r.pid + 1 - len(post_ids)
                post_ids += [""] * grow
                creator_ids += [""] * grow
                topics += [[] for _ in range(grow)]
                durations += [None] * grow
                kinds, created = np.pad(kinds, (0, grow)), np.pad(created, (0, grow))
                content, active = np.pad(content, ((0, grow), (0, 0))), np.pad(active, (0, grow))
            creator = users[r.creator_uid] if r.creator_uid < len(users) else None
            post_ids[r.pid], topics[r.pid] = r.post_id, list(r.topics)
            creator_ids[r.pid] = creator.user_id if creator else str(r.creator_uid)
            kinds[r.pid], created[r.pid] = KIND_CODES.get(r.kind, 0), r.created_at
            active[r.pid] = r.status.value == "active" and r.vector is not None
            if r.vector is not None and len(r.vector) == content_dim:
                content[r.pid] = r.vector
            full = records.get_post(r.post_id)  # duration is only in the full record
            durations[r.pid] = full.post.duration_ms if full else None
        bar.update(len(rows))
    bar.close()
    data = LogData(post_ids, creator_ids, topics, kinds, durations, created, content, active, users)
    _load_sequences(records, data, since_ts, until_ts, progress)
    return data


def _load_sequences(records: RecordStore, data: LogData, since_ts: float, until_ts: float, progress: bool) -> None:
    uid_of = {u.user_id: i for i, u in enumerate(data.users) if u is not None}
    pid_of = {p: i for i, p in enumerate(data.post_ids) if p}
    actions: defaultdict[int, list[tuple[int, float]]] = defaultdict(list)
    first, last, n = math.inf, -math.inf, 0
    total = records.count_events()
    bar = tqdm(total=total, desc="events", unit="ev", disable=not progress, mininterval=1.0)
    for events in records.scan_events(since_ts=since_ts):
        for e in events:
            if e.ts >= until_ts:
                break
            uid, pid = uid_of.get(e.user_id), pid_of.get(e.post_id or "")
            if uid is None or pid is None:
                continue
            w = event_weight(e.kind, e.watch_ms, e.duration_ms)
            if w != 0.0:
                actions[uid].append((pid, w))
                first, last, n = min(first, e.ts), max(last, e.ts), n + 1
        bar.update(len(events))
        if events and events[-1].ts >= until_ts:
            break
    bar.close()
    data.seqs = {uid: t for uid, acts in actions.items() if len(t := tokenize(acts))}
    data.window = DataWindow(first if n else 0.0, last if n else 0.0, n, len(data.seqs), int(data.active.sum()))
