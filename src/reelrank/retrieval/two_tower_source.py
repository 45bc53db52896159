"""Learned retrieval: nearest item-tower vectors to the user-tower vector of the live model.

The user vector is computed once per request in the context stage (models/query.py); without a
model (fresh install) this source proposes nothing and the content-vector `ann` source carries
retrieval alone.
"""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Retrieved
from reelrank.pipeline.context import FeedContext


class TwoTowerSource:
    name = "two_tower"

    def __init__(self, k: int) -> None:
        self._k = k

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        mq = ctx.model_query
        if mq is None or self._k == 0:
            return Retrieved.empty()
        pids, scores = mq.index.search(mq.vector, self._k)
        return Retrieved(np.asarray(pids, dtype=np.int64), np.asarray(scores, dtype=np.float32))
