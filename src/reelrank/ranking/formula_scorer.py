"""The first scorer: a transparent weighted sum of similarity, popularity, freshness and following.

Each signal is kept as its own column so 'why am I seeing this' can name the main ones. Learned
rankers (a later stage) replace the `score` column and keep these as features.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from reelrank.config import ScoreWeights
from reelrank.features.popularity import PopularityFeatures
from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue

SIGNALS = ("similarity", "popularity", "freshness", "following")


class VectorLookup(Protocol):
    def vectors(self, pids: np.ndarray) -> np.ndarray: ...


class FormulaScorer:
    name = "formula"

    def __init__(self, vectors: VectorLookup, popularity: PopularityFeatures, catalogue: Catalogue,
                 weights: ScoreWeights) -> None:
        self._vectors = vectors
        self._pop = popularity
        self._cat = catalogue
        self._w = weights

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
        cands.columns.update(similarity=sim, popularity=pop, freshness=fresh, following=following)
        cands.columns["score"] = (w.similarity * sim + w.popularity * pop + w.freshness * fresh
                                  + w.following * following)
