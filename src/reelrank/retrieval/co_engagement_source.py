"""Co-engagement: posts that people who engaged with the viewer's recent posts also engaged with.

Seeds are the viewer's most recent positive actions in the session (ctx.session, newest first, at
most MAX_SEEDS distinct posts). Each seed's neighbour list (features/co_engagement.py) is read, its
totals normalised by the seed's strongest neighbour, weighted by the seed's recency (position 0 = 1,
then x0.85 per step, as the session vector does) and summed across seeds. The seeds themselves are
dropped; the top `k` come back with the merged score. A viewer with no positive session action, or
whose posts have no neighbours yet, gets nothing.
"""

from __future__ import annotations

import heapq

import numpy as np

from reelrank.features.co_engagement import CoEngagement
from reelrank.pipeline.candidates import Retrieved
from reelrank.pipeline.context import FeedContext

MAX_SEEDS = 5  # one neighbour-list read each
RECENCY_DECAY = 0.85


class CoEngagementSource:
    name = "co_engagement"

    def __init__(self, co: CoEngagement, k: int) -> None:
        self._co = co
        self._k = k

    def seeds(self, ctx: FeedContext) -> list[int]:
        """The viewer's most recent distinct positive posts, newest first."""
        out: list[int] = []
        for a in ctx.session:
            if a.weight > 0 and a.pid > 0 and a.pid not in out:
                out.append(a.pid)
                if len(out) == MAX_SEEDS:
                    break
        return out

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        if self._k == 0:
            return Retrieved.empty()
        seeds = self.seeds(ctx)
        score: dict[int, float] = {}
        for i, seed in enumerate(seeds):
            nb = self._co.neighbours(seed)
            top = max(nb.values(), default=0.0)
            if top <= 0:
                continue
            w = RECENCY_DECAY**i / top
            for pid, total in nb.items():
                score[pid] = score.get(pid, 0.0) + w * total
        for seed in seeds:
            score.pop(seed, None)
        if not score:
            return Retrieved.empty()
        best = heapq.nlargest(self._k, score.items(), key=lambda kv: kv[1])
        return Retrieved(np.fromiter((p for p, _ in best), dtype=np.int64, count=len(best)),
                         np.fromiter((s for _, s in best), dtype=np.float32, count=len(best)))
