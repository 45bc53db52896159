"""Reels shows videos only; Explore's grid shows every kind."""

from __future__ import annotations

import numpy as np

from reelrank.domain import Surface
from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import KIND_CODES, Catalogue


class SurfaceFilter:
    name = "surface"

    def __init__(self, catalogue: Catalogue) -> None:
        self._cat = catalogue

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        if ctx.surface is Surface.REELS:
            return {"not_a_reel": self._cat.kind[cands.pids] != KIND_CODES["reel"]}
        return {}
