"""Recent posts from the accounts the viewer follows, newest first."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Retrieved
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue


class FollowedCreatorsSource:
    name = "followed"

    def __init__(self, catalogue: Catalogue, k: int, per_creator: int) -> None:
        self._cat = catalogue
        self._k = k
        self._per_creator = per_creator

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        if not ctx.following or self._k == 0:
            return Retrieved.empty()
        by_creator = self._cat.by_creator
        chunks = [by_creator[c][-self._per_creator :] for c in ctx.following if c in by_creator]
        if not chunks:
            return Retrieved.empty()
        pids = np.fromiter((p for ch in chunks for p in ch), dtype=np.int64)
        age_h = (ctx.now - self._cat.created_at[pids]) / 3600.0
        score = (1.0 / (1.0 + np.maximum(age_h, 0.0) / 24.0)).astype(np.float32)  # 1 for brand new, 0.5 at a day
        if len(pids) > self._k:
            top = np.argpartition(-score, self._k - 1)[: self._k]
            pids, score = pids[top], score[top]
        return Retrieved(pids, score)
