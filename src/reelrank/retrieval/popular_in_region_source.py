"""What people in the viewer's region engage with most, shaped by onboarding interests.

This is the cold-start source: it needs no history from the viewer. When the region has too little
engagement it falls back to global popularity, then to the newest posts, so a page is never empty.
"""

from __future__ import annotations

import numpy as np

from reelrank.features.popularity import PopularityFeatures
from reelrank.pipeline.candidates import Retrieved
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue

INTEREST_BOOST = 1.0  # added to the rank score of posts on an onboarding interest


class PopularInRegionSource:
    name = "popular_region"

    def __init__(self, popularity: PopularityFeatures, catalogue: Catalogue, k: int) -> None:
        self._pop = popularity
        self._cat = catalogue
        self._k = k

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        if self._k == 0:
            return Retrieved.empty()
        want = self._k * 3 if ctx.interest_topics else self._k
        parts = [self._pop.top(ctx.user.region, want, ctx.now)]
        have = len(parts[0])
        if have < want:
            parts.append(self._pop.top(None, want, ctx.now))
            have += len(parts[-1])
        if have < want:
            recent = list(self._cat.recent)[-want:]
            parts.append(np.asarray(recent[::-1], dtype=np.int64))
        pids = np.concatenate(parts)
        _, first = np.unique(pids, return_index=True)
        pids = pids[np.sort(first)][:want]  # keep rank order, drop repeats
        score = 1.0 - np.arange(len(pids), dtype=np.float32) / max(len(pids), 1)
        if ctx.interest_topics:
            score = score + INTEREST_BOOST * self._cat.topic_mask(pids, ctx.interest_topics)
        if len(pids) > self._k:
            top = np.argsort(-score, kind="stable")[: self._k]
            pids, score = pids[top], score[top]
        return Retrieved(pids.astype(np.int64), score.astype(np.float32))
