"""Trending posts on the viewer's topics: the trending pool, weighted by topic overlap with the viewer.

A topic's weight is the viewer's positive topic affinity (scaled so their strongest topic is 1), at
least `interest_weight` for an onboarding interest; topics the viewer pushed away (negative
affinity) or muted get nothing. A trending post scores its best topic's weight times how recently it
was confirmed trending; posts trending elsewhere come in at `global_weight`, so a viewer with no
signal yet still sees what is taking off. Returns a few posts (`k`): trends season a page, they do
not fill it. Page slots for them belong to the policy stage (PolicySettings.trend_share).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np

from reelrank.pipeline.candidates import Retrieved
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue
from reelrank.trends.trending_pool import TrendingPool

MAX_TOPICS = 8  # the viewer's strongest topics whose pools are read

TopicAffinity = Callable[[int, float], dict[str, float]]  # (uid, now) -> topic name -> affinity


class TrendingSource:
    name = "trending"

    def __init__(self, pool: TrendingPool, catalogue: Catalogue, topic_affinity: TopicAffinity, k: int,
                 interest_weight: float = 0.7, global_weight: float = 0.1) -> None:
        self._pool = pool
        self._cat = catalogue
        self._affinity = topic_affinity
        self._k = k
        self._interest_weight = interest_weight
        self._global_weight = global_weight

    def topic_weights(self, ctx: FeedContext) -> dict[str, float]:
        """topic name -> weight in (0, 1] for the viewer."""
        names = self._cat.topics.name
        # 'Your Algorithm' (when present) resolves affinity per request with the user's own adjustments.
        resolved: dict[int, float] = getattr(ctx, "topic_affinity", None) or {}
        aff = {names(c): v for c, v in resolved.items() if c > 0} if resolved else self._affinity(ctx.uid, ctx.now)
        top = max((v for v in aff.values() if v > 0), default=0.0)
        weights = {t: v / top for t, v in aff.items() if v > 0} if top > 0 else {}
        for code in ctx.interest_topics:
            t = names(code)
            if aff.get(t, 0.0) >= 0:
                weights[t] = max(weights.get(t, 0.0), self._interest_weight)
        for code in getattr(ctx, "muted_topics", ()):
            weights.pop(names(code), None)
        return dict(heapq.nlargest(MAX_TOPICS, weights.items(), key=lambda kv: kv[1]))

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        if self._k == 0:
            return Retrieved.empty()
        ttl = self._pool.ttl_s
        score: dict[int, float] = {}

        def offer(pid: int, weight: float, expiry: float) -> None:
            recency = 0.5 + 0.5 * min(max((expiry - ctx.now) / ttl, 0.0), 1.0)  # 1 = confirmed just now
            s = weight * recency
            if s > score.get(pid, 0.0):
                score[pid] = s

        weights = self.topic_weights(ctx)
        for topic, members in self._pool.by_topic(weights, ctx.now).items():
            for pid, expiry in members.items():
                offer(pid, weights[topic], expiry)
        if self._global_weight > 0:
            for pid, expiry in self._pool.all(ctx.now).items():
                offer(pid, self._global_weight, expiry)
        if not score:
            return Retrieved.empty()
        best = heapq.nlargest(self._k, score.items(), key=lambda kv: kv[1])
        return Retrieved(np.fromiter((p for p, _ in best), dtype=np.int64, count=len(best)),
                         np.fromiter((s for _, s in best), dtype=np.float32, count=len(best)))
