"""Slots reserved on each page for posts a given source proposed: trending, fresh, exploration.

The three kinds differ only in which source fills them, where on the page their positions fall,
and the reason they record, so they share one implementation (the slot arithmetic is in slots.py).
A slot kind whose source is absent from the pipeline, timed out or proposed nothing changes nothing.
"""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.components import Selection
from reelrank.pipeline.context import FeedContext
from reelrank.policy.selectors.slots import fill_slots


class SourceSlotSelector:
    name = "source_slots"
    reason = "slot"
    phase = 0.5  # where in each stretch of the page the reserved position falls (0 = first)

    def __init__(self, source_mask: int, share: float) -> None:
        self._mask = np.uint32(source_mask)
        self._share = share

    def select(self, ctx: FeedContext, cands: Candidates, order: np.ndarray, k: int) -> Selection:
        if not self._mask:
            return Selection(order)
        eligible = (cands.sources & self._mask) != 0
        return fill_slots(ctx, cands, order, k, eligible, self._share, self.phase, self.reason)


class TrendSlotSelector(SourceSlotSelector):
    """A share of each page for the 'trending' source (10 items, 1 slot: position 2)."""

    name = "trend_slots"
    reason = "trend_slot"
    phase = 0.2


class FreshSlotSelector(SourceSlotSelector):
    """A share for new posts (the 'fresh' source), so a new post, and a new creator's first post,
    gets a fair first exposure before it has engagement to rank on (10 items, 1 slot: position 4)."""

    name = "fresh_slots"
    reason = "fresh_slot"
    phase = 0.45


class ExplorationSlotSelector(SourceSlotSelector):
    """A share for posts from outside the user's inferred interests (the 'exploration' source), so the
    feed can discover new tastes instead of narrowing (10 items, 1 slot: position 7)."""

    name = "exploration_slots"
    reason = "exploration_slot"
    phase = 0.7
