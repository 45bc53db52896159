"""Trend slots: a share of each page goes to candidates proposed by the 'trending' source.

The pipeline passes the bit of a source named 'trending' if it has one; without it (or when the
source timed out or proposed nothing) this selector changes nothing."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.components import Selection
from reelrank.pipeline.context import FeedContext
from reelrank.policy.selectors.slots import fill_slots

PHASE = 0.2  # 10 items, 1 slot: position 2


class TrendSlotSelector:
    name = "trend_slots"

    def __init__(self, source_mask: int, share: float) -> None:
        self._mask = np.uint32(source_mask)
        self._share = share

    def select(self, ctx: FeedContext, cands: Candidates, order: np.ndarray, k: int) -> Selection:
        if not self._mask:
            return Selection(order)
        eligible = (cands.sources & self._mask) != 0
        return fill_slots(ctx, cands, order, k, eligible, self._share, PHASE, "trend_slot")
