"""Interest retrieval: nearest posts to the user's query vector in the ANN index."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from reelrank.pipeline.candidates import Retrieved
from reelrank.pipeline.context import FeedContext


class VectorSearch(Protocol):
    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


class AnnSource:
    name = "ann"

    def __init__(self, index: VectorSearch, k: int, overfetch: Callable[[FeedContext], float] | None = None) -> None:
        self._index = index
        self._k = k
        self._overfetch = overfetch  # share of posts the viewer may not see (region rules): ask for more

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        if ctx.query is None or self._k == 0:
            return Retrieved.empty()
        k = self._k
        if self._overfetch is not None:
            k = math.ceil(k / (1.0 - min(self._overfetch(ctx), 0.75)))
        pids, scores = self._index.search(ctx.query, k)
        return Retrieved(np.asarray(pids, dtype=np.int64), np.asarray(scores, dtype=np.float32))
