"""The first scorer: a transparent weighted sum of similarity, popularity, freshness, following and the
real-time signals: engagement (per-post window counters), trending (the trending pool) and exploration.

Exploration is a bounded boost for posts younger than `explore_max_age_s` that have few exposures,
so a new post (a new creator's first post above all) is shown to enough people to collect its first
signals; it fades linearly with age and halves at `explore_exposures`, and never exceeds its weight.

Each signal is kept as its own column so 'why am I seeing this' can name the main ones. Learned
rankers (a later stage) replace the `score` column and keep these as features. With `keep_rates`
(set when the learned stack runs) the per-post rates read for engagement are also stored as the
ranker's rate features (ranking_features.share_rates), so the counters are read once per request.
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
from reelrank.ranking.ranking_features import WINDOW_S, share_rates
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
                 trending: TrendingPool | None = None, keep_rates: bool = False,
                 query_scores: str | None = None) -> None:
        self._vectors = vectors
        self._pop = popularity
        self._cat = catalogue
        self._w = weights
        self._counters = counters
        self._trending = trending
        self._keep_rates = keep_rates and ENGAGEMENT_WINDOW_S == WINDOW_S
        self._query_scores = query_scores

    def score(self, ctx: FeedContext, cands: Candidates) -> None:
        pids = cands.pids
        n = len(pids)
        sim = self._similarity(ctx, cands)
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
        engagement, exploration = self._realtime(pids, age, ctx.now, cands.columns)
        trending = (self._trending.heat(pids, ctx.now) > 0).astype(np.float32) if self._trending is not None \
            else np.zeros(n, dtype=np.float32)
        cands.columns.update(similarity=sim, popularity=pop, freshness=fresh, following=following,
                             engagement=engagement, trending=trending, exploration=exploration)
        # Engagement is centred on a typical post (0.5), so posts without data neither gain nor lose.
        cands.columns["score"] = (w.similarity * sim + w.popularity * pop + w.freshness * fresh
                                  + w.following * following + w.engagement * (engagement - 0.5)
                                  + w.trending * trending + w.exploration * exploration)

    def _similarity(self, ctx: FeedContext, cands: Candidates) -> np.ndarray:
        """(N,) float32 cosine to the query. Posts the ANN source proposed carry that score already (the
        same inner product over the same vectors, column `query_scores`): only the rest are gathered."""
        pids, n = cands.pids, len(cands)
        if ctx.query is None or not n:
            return np.zeros(n, dtype=np.float32)
        known = cands.columns.get(self._query_scores) if self._query_scores else None
        if known is None:
            return (self._vectors.vectors(pids) @ ctx.query).astype(np.float32)  # (N, D) @ (D,) -> (N,)
        sim = known.astype(np.float32)  # a copy: NaN where the ANN source did not propose the post
        miss = np.isnan(sim)
        if miss.any():
            sim[miss] = self._vectors.vectors(pids[miss]) @ ctx.query
        return sim

    def _realtime(self, pids: np.ndarray, age: np.ndarray, now: float,
                  cols: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(engagement, exploration), (N,) float32 each, both in [0, 1]."""
        n = len(pids)
        young = np.clip(1.0 - age / self._w.explore_max_age_s, 0.0, 1.0).astype(np.float32)
        if self._counters is None or n == 0:
            return np.full(n, 0.5, dtype=np.float32), young
        rates = self._counters.rates(pids, ENGAGEMENT_WINDOW_S, now)
        if self._keep_rates:
            share_rates(cols, rates)
        exploration = young * self._w.explore_exposures / (self._w.explore_exposures + rates["exposures"])
        return engagement_of(rates), exploration.astype(np.float32)
