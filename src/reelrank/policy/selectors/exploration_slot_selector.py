"""Exploration slots: a share of each page goes to posts from outside the user's inferred interests
(proposed by the 'exploration' source), so the feed can discover new tastes instead of narrowing."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.components import Selection
from reelrank.pipeline.context import FeedContext
from reelrank.policy.selectors.slots import fill_slots

PHASE = 0.7  # reserved positions late in each stretch of the page (10 items, 1 slot: position 7)


class ExplorationSlotSelector:
    name = "exploration_slots"

    def __init__(self, source_mask: int, share: float) -> None:
        self._mask = np.uint32(source_mask)
        self._share = share

    def select(self, ctx: FeedContext, cands: Candidates, order: np.ndarray, k: int) -> Selection:
        if not self._mask:
            return Selection(order)
        eligible = (cands.sources & self._mask) != 0
        return fill_slots(ctx, cands, order, k, eligible, self._share, PHASE, "exploration_slot")
