"""The first scorer: a transparent weighted sum of similarity, popularity, freshness, following and the
real-time signals: engagement (per-post window counters), trending (the trending pool) and exploration.

Exploration is a bounded boost for posts younger than `explore_max_age_s` that have few exposures,
so a new post (a new creator's first post above all) is shown to enough people to collect its first
signals; it fades linearly with age and halves at `explore_exposures`, and never exceeds its weight.

Each signal is kept as its own column so 'why am I seeing this' can name the main ones. Learned
rankers (a later stage) replace the `score` column and keep these as features.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from reelrank.config import ScoreWeights
from reelrank.features.popularity import PopularityFeatures
from reelrank.features.post_counters import PostCounters, engagement_of
from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue
from reelrank.trends.trending_pool import TrendingPool

SIGNALS = ("similarity", "popularity", "freshness", "following", "engagement", "trending", "exploration")
ENGAGEMENT_WINDOW_S = 86400.0


class VectorLookup(Protocol):
    def vectors(self, pids: np.ndarray) -> np.ndarray: ...


class FormulaScorer:
    name = "formula"

    def __init__(self, vectors: VectorLookup, popularity: PopularityFeatures, catalogue: Catalogue,
                 weights: ScoreWeights, counters: PostCounters | None = None,
                 trending: TrendingPool | None = None) -> None:
        self._vectors = vectors
        self._pop = popularity
        self._cat = catalogue
        self._w = weights
        self._counters = counters
        self._trending = trending

    def score(self, ctx: FeedContext, cands: Candidates) -> None:
        pids = cands.pids
        n = len(pids)
        if ctx.query is not None and n:
            sim = (self._vectors.vectors(pids) @ ctx.query).astype(np.float32)  # (N, D) @ (D,) -> (N,)
        else:
            sim = np.zeros(n, dtype=np.float32)
        raw_pop = self._pop.scores(pids, ctx.now)
        top = float(raw_pop.max()) if n else 0.0
        pop = (np.log1p(raw_pop) / math.log1p(top)).astype(np.float32) if top > 0 else np.zeros(n, np.float32)
        age = np.maximum(ctx.now - self._cat.created_at[pids], 0.0)
        fresh = np.exp2(-age / self._w.fresh_half_life_s).astype(np.float32)
        if ctx.following:
            follows = np.fromiter(ctx.following, dtype=np.int64, count=len(ctx.following))
            following = np.isin(self._cat.creator[pids], follows).astype(np.float32)
        else:
            following = np.zeros(n, dtype=np.float32)
        w = self._w
        engagement, exploration = self._realtime(pids, age, ctx.now)
        trending = (self._trending.heat(pids, ctx.now) > 0).astype(np.float32) if self._trending is not None \
            else np.zeros(n, dtype=np.float32)
        cands.columns.update(similarity=sim, popularity=pop, freshness=fresh, following=following,
                             engagement=engagement, trending=trending, exploration=exploration)
        # Engagement is centred on a typical post (0.5), so posts without data neither gain nor lose.
        cands.columns["score"] = (w.similarity * sim + w.popularity * pop + w.freshness * fresh
                                  + w.following * following + w.engagement * (engagement - 0.5)
                                  + w.trending * trending + w.exploration * exploration)

    def _realtime(self, pids: np.ndarray, age: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
        """(engagement, exploration), (N,) float32 each, both in [0, 1]."""
        n = len(pids)
        young = np.clip(1.0 - age / self._w.explore_max_age_s, 0.0, 1.0).astype(np.float32)
        if self._counters is None or n == 0:
            return np.full(n, 0.5, dtype=np.float32), young
        rates = self._counters.rates(pids, ENGAGEMENT_WINDOW_S, now)
        exploration = young * self._w.explore_exposures / (self._w.explore_exposures + rates["exposures"])
        return engagement_of(rates), exploration.astype(np.float32)
