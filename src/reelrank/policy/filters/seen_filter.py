"""Not again: posts the viewer saw within the seen window, and posts this session already served."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext


class SeenFilter:
    name = "seen"

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        if len(ctx.served):
            out["served_in_session"] = np.isin(cands.pids, ctx.served)
        if len(ctx.seen):
            out["seen_recently"] = np.isin(cands.pids, ctx.seen)
        return out
