"""Accounts the viewer blocked or muted, and accounts that blocked the viewer, are invisible.
The viewer's own posts are not recommended back to them."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue


class BlockedMutedFilter:
    name = "blocked_muted"

    def __init__(self, catalogue: Catalogue) -> None:
        self._cat = catalogue

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        creators = self._cat.creator[cands.pids]
        out = {"own_post": creators == ctx.uid}
        if ctx.hidden_creators:
            hidden = np.fromiter(ctx.hidden_creators, dtype=np.int64, count=len(ctx.hidden_creators))
            out["blocked_or_muted_creator"] = np.isin(creators, hidden)
        return out
