"""Posts on topics the user added or boosted in 'Your Algorithm', so the very next page can show
them even when the learned interest vector has not moved towards them yet.

Per topic, the posts whose primary topic it is are found with one vectorised scan of the catalogue's
topic column, cached for a few seconds (new posts join on the next rebuild; the fresh source covers
the gap). Ranked by popularity and recency.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from reelrank.domain import Surface
from reelrank.features.popularity import PopularityFeatures
from reelrank.pipeline.candidates import Retrieved
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import KIND_CODES, Catalogue

CACHE_S = 10.0
RECENCY_DAYS = 3.0  # recency half-weight at this age


class ChosenTopicsSource:
    name = "chosen_topics"

    def __init__(self, catalogue: Catalogue, popularity: PopularityFeatures, k: int) -> None:
        self._cat = catalogue
        self._pop = popularity
        self._k = k
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[float, np.ndarray]] = {}

    def _posts_of(self, code: int) -> np.ndarray:
        now = time.monotonic()
        hit = self._cache.get(code)
        if hit is not None and now - hit[0] < CACHE_S:
            return hit[1]
        cat = self._cat
        top = cat.max_pid + 1
        pids = np.flatnonzero((cat.primary_topic[:top] == code) & cat.active[:top]).astype(np.int64)
        with self._lock:
            self._cache[code] = (now, pids)
        return pids

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        chosen = (ctx.added_topics | ctx.boosted_topics) - ctx.muted_topics
        if self._k == 0 or not chosen:
            return Retrieved.empty()
        per_topic = max(1, self._k // len(chosen))
        parts: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        for code in sorted(chosen):
            pids = self._posts_of(code)
            pids = pids[self._cat.active[pids]]
            if ctx.surface is Surface.REELS:
                pids = pids[self._cat.kind[pids] == KIND_CODES["reel"]]
            if len(pids) == 0:
                continue
            pop = np.log1p(self._pop.scores(pids, ctx.now))
            pop = pop / pop.max() if pop.max() > 0 else pop
            age_d = np.maximum(ctx.now - self._cat.created_at[pids], 0.0) / 86_400.0
            score = (0.5 * pop + 0.5 / (1.0 + age_d / RECENCY_DAYS)).astype(np.float32)
            if len(pids) > per_topic:
                best = np.argpartition(-score, per_topic - 1)[:per_topic]
                pids, score = pids[best], score[best]
            parts.append(pids)
            scores.append(score)
        if not parts:
            return Retrieved.empty()
        return Retrieved(np.concatenate(parts), np.concatenate(scores))
