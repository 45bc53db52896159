"""Trend detection: a recent post whose engagement over the last five minutes is `threshold` times its
creator's normal (per post, per five minutes) and at least `min_volume` enters the trending pool.

Runs as the "trends" stream consumer's handler. Velocity is counted in a windowed count-min sketch
(fixed memory, any number of posts; overcounts by at most eps * N with probability 1 - delta), the
baseline comes from features/creator_baselines.py (maintained by the "features" consumer). Only the
posts engaged with in the batch at hand are checked: a post can only cross the threshold when it
gets engagement, so nothing has to scan the catalogue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reelrank.features.creator_baselines import CreatorBaselines
from reelrank.features.engagement import engagement_units
from reelrank.state.catalogue import Catalogue
from reelrank.stream.event_codec import concat_events
from reelrank.trends.trending_pool import TrendingPool
from reelrank.trends.windowed_sketch import WindowedSketch


@dataclass(frozen=True, slots=True)
class TrendRule:
    threshold: float = 5.0  # velocity / baseline
    min_volume: float = 20.0  # engagement units in the window, whatever the baseline
    min_baseline: float = 1.0  # floor of the baseline, so a creator with no history is not 'infinitely' up
    max_post_age_s: float = 48 * 3600.0  # older posts are not "trending", however busy


class TrendDetector:
    name = "trends"

    def __init__(self, velocity: WindowedSketch, baselines: CreatorBaselines, pool: TrendingPool,
                 catalogue: Catalogue, rule: TrendRule, clock: Callable[[], float] = time.time) -> None:
        self._velocity = velocity
        self._baselines = baselines
        self._pool = pool
        self._cat = catalogue
        self._rule = rule
        self._clock = clock
        self.detections = 0

    def handle(self, payloads: Sequence[bytes]) -> None:
        events = concat_events(payloads)
        units = engagement_units(events)
        pids = events["pid"]
        sel = (units > 0) & (pids > 0)
        if not sel.any():
            return
        now = self._clock()
        self._velocity.add(pids[sel], units[sel], events["ts"][sel], now)
        self.detect(np.unique(pids[sel]), now)

    def detect(self, pids: np.ndarray, now: float) -> np.ndarray:
        """Check `pids`; put the trending ones in the pool and return them."""
        r = self._rule
        cat = self._cat
        created, creator, active = cat.created_at, cat.creator, cat.active  # one read each (columns may grow)
        pids = pids[(pids > 0) & (pids < min(len(created), len(creator), len(active)))]
        pids = pids[active[pids] & (now - created[pids] <= r.max_post_age_s)]
        if len(pids) == 0:
            return pids
        velocity = self._velocity.query(pids, now).astype(np.float64)
        baseline = np.maximum(self._baselines.per_post(creator[pids], now), r.min_baseline)
        ratio = velocity / baseline
        hot = (velocity >= r.min_volume) & (ratio >= r.threshold)
        if hot.any():
            found = pids[hot]
            self._pool.add(found.tolist(), [cat.topic_names(int(p)) for p in found], ratio[hot].tolist(), now,
                           velocity=velocity[hot].tolist())
            self.detections += len(found)
            return found
        return pids[:0]
