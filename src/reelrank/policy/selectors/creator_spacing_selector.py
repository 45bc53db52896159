"""Creator spacing: two posts of one creator are at least `spacing` positions apart (spacing 3 allows
A B C A). A post that would break the rule waits for the first position where it fits, or is dropped
if the page fills first. Only when nothing else is left does a waiting post fill the page anyway
(recorded as 'creator_spacing_relaxed'): a short page is worse than a close repeat."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.components import Move, Selection
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue


class CreatorSpacingSelector:
    name = "creator_spacing"

    def __init__(self, catalogue: Catalogue, spacing: int) -> None:
        self._cat = catalogue
        self._spacing = spacing

    def select(self, ctx: FeedContext, cands: Candidates, order: np.ndarray, k: int) -> Selection:
        if self._spacing <= 0:
            return Selection(order[:k])
        creators = self._cat.creator[cands.pids[order]]
        page: list[int] = []
        page_creators: list[int] = []
        waiting: list[int] = []  # positions in `order` deferred by the rule, oldest first
        moves: list[Move] = []
        deferred: set[int] = set()

        def fits(c: int) -> bool:
            return c not in page_creators[max(0, len(page_creators) - self._spacing + 1) :]

        i = 0
        while len(page) < k and (i < len(order) or waiting):
            placed = False
            for w_i, pos in enumerate(waiting):  # deferred posts go first once they fit
                if fits(int(creators[pos])):
                    page.append(pos)
                    page_creators.append(int(creators[pos]))
                    del waiting[w_i]
                    placed = True
                    break
            if placed:
                continue
            if i >= len(order):
                relaxed = waiting.pop(0)
                page.append(relaxed)
                page_creators.append(int(creators[relaxed]))
                if ctx.explain:
                    moves.append(Move(int(cands.pids[order[relaxed]]), "moved", "creator_spacing_relaxed",
                                      relaxed, len(page) - 1))
                continue
            c = int(creators[i])
            if fits(c):
                page.append(i)
                page_creators.append(c)
            else:
                waiting.append(i)
                deferred.add(i)
            i += 1
        if ctx.explain:
            for to_rank, pos in enumerate(page):
                if pos in deferred:
                    moves.append(Move(int(cands.pids[order[pos]]), "moved", "creator_spacing", pos, to_rank))
            for pos in waiting:
                moves.append(Move(int(cands.pids[order[pos]]), "dropped", "creator_spacing", pos, None))
        return Selection(order[np.asarray(page, dtype=np.int64)], moves)
