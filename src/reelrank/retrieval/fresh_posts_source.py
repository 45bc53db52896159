"""Posts created in the last hours, so new posts (and new creators) collect their first signals.

With a query vector the freshest posts are ordered by relevance; without one, by recency.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from reelrank.pipeline.candidates import Retrieved
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue

SCAN_FACTOR = 8  # recent posts examined per slot


class VectorLookup(Protocol):
    def vectors(self, pids: np.ndarray) -> np.ndarray: ...


class FreshPostsSource:
    name = "fresh"

    def __init__(self, catalogue: Catalogue, vectors: VectorLookup, k: int, max_age_s: float) -> None:
        self._cat = catalogue
        self._vectors = vectors
        self._k = k
        self._max_age_s = max_age_s

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        if self._k == 0:
            return Retrieved.empty()
        recent = self._cat.recent
        n = min(len(recent), self._k * SCAN_FACTOR)
        if n == 0:
            return Retrieved.empty()
        pids = np.fromiter((recent[-i] for i in range(1, n + 1)), dtype=np.int64, count=n)
        age = ctx.now - self._cat.created_at[pids]
        keep = (age <= self._max_age_s) & self._cat.active[pids]
        pids, age = pids[keep], age[keep]
        if len(pids) == 0:
            return Retrieved.empty()
        recency = (1.0 - age / self._max_age_s).astype(np.float32)
        score = recency
        if ctx.query is not None:
            score = self._vectors.vectors(pids) @ ctx.query + 0.2 * recency  # (N, D) @ (D,)
        if len(pids) > self._k:
            top = np.argpartition(-score, self._k - 1)[: self._k]
            pids, score = pids[top], score[top]
        return Retrieved(pids, score.astype(np.float32))
