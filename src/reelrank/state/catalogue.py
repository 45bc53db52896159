"""The in-memory catalogue: one numpy column per post attribute the funnel filters or scores on.

Filters and scorers run over candidate arrays of pids (`column[pids]` gathers), so per-request
work is a handful of vectorised operations rather than a Python loop over thousands of posts.
The durable copy lives in the record store; this is rebuilt from it at start-up and kept current
by the engine on every post write.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np

from reelrank.domain import PostStatus
from reelrank.state.records.base import PostRow

KIND_CODES = {"reel": 0, "photo": 1, "carousel": 2}


class Vocabulary:
    """Dense integer codes for short strings (topics, regions, categories); 0 means 'none'."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self._names: list[str] = [""]

    def code(self, name: str) -> int:
        c = self._codes.get(name)
        if c is None:
            c = len(self._names)
            self._codes[name] = c
            self._names.append(name)
        return c

    def find(self, name: str) -> int:
        return self._codes.get(name, -1)

    def name(self, code: int) -> str:
        return self._names[code]

    def __len__(self) -> int:
        return len(self._names) - 1


@dataclass(frozen=True, slots=True)
class RegionRule:
    allowed: frozenset[str] | None
    blocked: frozenset[str]

    def permits(self, region: str) -> bool:
        return (self.allowed is None or region in self.allowed) and region not in self.blocked


class Catalogue:
    """Columns indexed by pid (row 0 unused: pids start at 1)."""

    _GROW = 1.5

    def __init__(self, capacity: int = 1024) -> None:
        self._lock = threading.Lock()
        self.topics = Vocabulary()
        self.categories = Vocabulary()
        n = max(capacity, 16)
        self.active = np.zeros(n, dtype=bool)
        self.creator = np.zeros(n, dtype=np.int64)
        self.created_at = np.zeros(n, dtype=np.float64)
        self.kind = np.zeros(n, dtype=np.int8)
        self.primary_topic = np.zeros(n, dtype=np.int32)
        self.category = np.zeros(n, dtype=np.int32)
        self.sensitive = np.zeros(n, dtype=bool)
        self.min_age = np.zeros(n, dtype=np.int16)
        self.has_region_rule = np.zeros(n, dtype=bool)
        self.region_rules: dict[int, RegionRule] = {}
        self.post_topics: dict[int, tuple[int, ...]] = {}
        self.post_ids: dict[int, str] = {}
        self.pid_of: dict[str, int] = {}
        # Posts per creator in creation order (for the followed-creators source).
        self.by_creator: dict[int, list[int]] = defaultdict(list)
        # Most recent posts first-in-first-out (for the fresh source); bounded.
        self.recent: deque[int] = deque(maxlen=50_000)
        self.max_pid = 0

    # -- writes ----------------------------------------------------------------------------------
    def _ensure(self, pid: int) -> None:
        n = len(self.active)
        if pid < n:
            return
        new_n = max(pid + 1, int(n * self._GROW))
        for name in ("active", "creator", "created_at", "kind", "primary_topic", "category", "sensitive",
                     "min_age", "has_region_rule"):
            old = getattr(self, name)
            grown = np.zeros(new_n, dtype=old.dtype)
            grown[:n] = old
            setattr(self, name, grown)

    def upsert(self, rows: list[PostRow]) -> None:
        with self._lock:
            for r in rows:
                self._ensure(r.pid)
                pid = r.pid
                is_new = pid not in self.post_ids
                self.active[pid] = r.status is PostStatus.ACTIVE
                self.creator[pid] = r.creator_uid
                self.created_at[pid] = r.created_at
                self.kind[pid] = KIND_CODES.get(r.kind, 0)
                codes = tuple(self.topics.code(t) for t in r.topics)
                self.post_topics[pid] = codes
                self.primary_topic[pid] = codes[0] if codes else 0
                self.category[pid] = self.categories.code(r.category) if r.category else 0
                self.sensitive[pid] = r.sensitive
                self.min_age[pid] = r.min_age or 0
                if r.allowed_regions is not None or r.blocked_regions:
                    allowed = frozenset(r.allowed_regions) if r.allowed_regions is not None else None
                    self.region_rules[pid] = RegionRule(allowed, frozenset(r.blocked_regions))
                    self.has_region_rule[pid] = True
                else:
                    self.region_rules.pop(pid, None)
                    self.has_region_rule[pid] = False
                self.post_ids[pid] = r.post_id
                self.pid_of[r.post_id] = pid
                if is_new:
                    self.by_creator[r.creator_uid].append(pid)
                    self.recent.append(pid)
                self.max_pid = max(self.max_pid, pid)

    def set_active(self, pid: int, active: bool) -> None:
        self.active[pid] = active

    # -- reads -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.post_ids)

    def external_ids(self, pids: np.ndarray) -> list[str]:
        ids = self.post_ids
        return [ids[int(p)] for p in pids]

    def topic_names(self, pid: int) -> list[str]:
        return [self.topics.name(c) for c in self.post_topics.get(pid, ())]

    def topic_mask(self, pids: np.ndarray, topic_codes: set[int]) -> np.ndarray:
        """Which of `pids` carry any of the given topics (any position, not only primary)."""
        pt = self.post_topics
        return np.fromiter((any(c in topic_codes for c in pt.get(int(p), ())) for p in pids), dtype=bool,
                           count=len(pids))
