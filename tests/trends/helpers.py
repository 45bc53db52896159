"""A small catalogue and a detector on a fixed clock, for trend tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelrank.domain import Event, EventKind, PostStatus
from reelrank.features.aggregate_features_handler import AggregateFeaturesHandler
from reelrank.features.creator_baselines import CreatorBaselines
from reelrank.features.post_counters import PostCounters
from reelrank.state.catalogue import Catalogue
from reelrank.state.online.memory import MemoryOnlineState
from reelrank.state.records.base import PostRow
from reelrank.stream.event_codec import encode_events
from reelrank.trends.count_min_sketch import CountMinSketch
from reelrank.trends.trend_detector import TrendDetector, TrendRule
from reelrank.trends.trending_pool import TrendingPool
from reelrank.trends.windowed_sketch import WindowedSketch

NOW = 1_800_057_600.0


class Clock:
    def __init__(self, t: float = NOW) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def row(pid: int, creator: int, topics: list[str], created_at: float) -> PostRow:
    return PostRow(pid=pid, post_id=f"p{pid}", creator_uid=creator, kind="reel", topics=topics, category=None,
                   sensitive=False, min_age=None, created_at=created_at, allowed_regions=None, blocked_regions=[],
                   status=PostStatus.ACTIVE, vector=None)


@dataclass
class TrendRig:
    clock: Clock
    state: MemoryOnlineState
    catalogue: Catalogue
    features: AggregateFeaturesHandler
    detector: TrendDetector
    pool: TrendingPool
    seq: int = 0

    def likes(self, pid: int, n: int, at: float | None = None) -> None:
        """n likes on pid by n different users, through both handlers as the stream consumers would."""
        ts = self.clock.t if at is None else at
        items = []
        for _ in range(n):
            self.seq += 1
            e = Event(event_id=f"e{self.seq}", user_id=f"u{self.seq}", post_id=f"p{pid}", kind=EventKind.LIKE, ts=ts)
            items.append((e, self.seq, pid))
        payload = encode_events(items)
        self.features.handle([payload])
        self.detector.handle([payload])

    def trending(self) -> set[int]:
        return set(self.pool.all(self.clock.t))


def make_rig(rule: TrendRule | None = None) -> TrendRig:
    clock = Clock()
    state = MemoryOnlineState(clock=clock)
    cat = Catalogue()
    cat.upsert([
        row(1, 100, ["cooking"], NOW - 3600),  # small creator's new post
        row(2, 200, ["football"], NOW - 3600),  # big creator's post
        row(3, 200, ["football"], NOW - 7200),
        row(4, 100, ["cooking", "travel"], NOW - 5 * 86400),  # old post
    ])
    baselines = CreatorBaselines(state)
    pool = TrendingPool(state, ttl_s=600.0)
    sketch = WindowedSketch(state, CountMinSketch(1 << 12, 4), window_s=300.0, bucket_s=30.0)
    detector = TrendDetector(sketch, baselines, pool, cat, rule or TrendRule(), clock=clock)
    features = AggregateFeaturesHandler(PostCounters(state), baselines, cat, clock=clock)
    return TrendRig(clock, state, cat, features, detector, pool)


def pids(*p: int) -> np.ndarray:
    return np.asarray(p, dtype=np.int64)
