"""Posts the platform restricted to (or blocked in) certain regions are shown only where allowed."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue


class RegionFilter:
    name = "region"

    def __init__(self, catalogue: Catalogue) -> None:
        self._cat = catalogue

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        ruled = self._cat.has_region_rule[cands.pids]
        out = np.zeros(len(cands), dtype=bool)
        if ruled.any():
            rules = self._cat.region_rules
            region = ctx.user.region
            for i in np.flatnonzero(ruled):  # few posts carry rules: a short loop
                rule = rules.get(int(cands.pids[i]))
                out[i] = rule is not None and not rule.permits(region)
        return {"region_restricted": out}
