"""Adds the two-tower model's user-post similarity to the score of every candidate, whichever source
proposed it (content ANN, followed creators and popular posts get a learned score too).

Runs after the formula scorer: score += weight * cosine(user vector, item vector) in the model's
space. Posts without a model vector (none yet) get 0. Without a model this scorer changes nothing.
"""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext


class LearnedSimilarityScorer:
    name = "learned_similarity"

    def __init__(self, weight: float) -> None:
        self._w = weight

    def score(self, ctx: FeedContext, cands: Candidates) -> None:
        mq = ctx.model_query
        if mq is None or not len(cands):
            return
        learned = (mq.index.vectors(cands.pids) @ mq.vector).astype(np.float32)  # (N, D) @ (D,) -> (N,)
        cands.columns["learned"] = learned
        base = cands.columns.get("score")
        cands.columns["score"] = (base if base is not None else 0.0) + self._w * learned
