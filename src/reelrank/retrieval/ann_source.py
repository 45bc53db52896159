"""Interest retrieval: nearest posts to the user's query vector in the ANN index."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from reelrank.pipeline.candidates import Retrieved
from reelrank.pipeline.context import FeedContext


class VectorSearch(Protocol):
    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


class AnnSource:
    name = "ann"

    def __init__(self, index: VectorSearch, k: int) -> None:
        self._index = index
        self._k = k

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        if ctx.query is None or self._k == 0:
            return Retrieved.empty()
        pids, scores = self._index.search(ctx.query, self._k)
        return Retrieved(np.asarray(pids, dtype=np.int64), np.asarray(scores, dtype=np.float32))
