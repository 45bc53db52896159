"""Maximal marginal relevance: each next post is the best trade-off between its score and its
similarity to what is already on the page, so one niche does not fill the whole page."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.components import Move, Selection
from reelrank.pipeline.context import FeedContext

OVERSELECT = 3  # return this many times the page size, so later selectors have room to reorder


class VectorLookup(Protocol):
    def vectors(self, pids: np.ndarray) -> np.ndarray: ...


class MmrSelector:
    name = "mmr"

    def __init__(self, vectors: VectorLookup, lam: float, pool: int) -> None:
        self._vectors = vectors
        self._lam = lam
        self._pool = pool

    def select(self, ctx: FeedContext, cands: Candidates, order: np.ndarray, k: int) -> Selection:
        pool = order[: max(self._pool, k)]
        want = min(len(pool), k * OVERSELECT)
        if want == 0:
            return Selection(order[:0])
        scores = cands.columns["score"][pool].astype(np.float32)
        # Rescale scores to [0, 1] so lambda means the same whatever the scorer's range.
        span = float(scores.max() - scores.min())
        rel = (scores - scores.min()) / span if span > 0 else np.ones_like(scores)
        vecs = self._vectors.vectors(cands.pids[pool])  # (P, D)
        max_sim = np.full(len(pool), -1.0, dtype=np.float32)  # similarity to the closest picked post
        picked = np.zeros(len(pool), dtype=bool)
        chosen: list[int] = []
        for _ in range(want):
            div = np.where(max_sim < 0, 0.0, max_sim)
            mmr = self._lam * rel - (1.0 - self._lam) * div
            mmr[picked] = -np.inf
            j = int(np.argmax(mmr))
            chosen.append(j)
            picked[j] = True
            np.maximum(max_sim, vecs @ vecs[j], out=max_sim)  # (P, D) @ (D,)
        moves = []
        if ctx.explain:
            moves = [Move(int(cands.pids[pool[j]]), "moved", "diversity", from_rank=j, to_rank=r)
                     for r, j in enumerate(chosen) if j != r]
        return Selection(pool[np.asarray(chosen, dtype=np.int64)], moves)
