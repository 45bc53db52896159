"""What the viewer may or chose to see: age limits, sensitive content, opted-out categories."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue


class ContentSettingsFilter:
    name = "content_settings"

    def __init__(self, catalogue: Catalogue) -> None:
        self._cat = catalogue

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        pids = cands.pids
        min_age = self._cat.min_age[pids]
        age = ctx.age
        # Unknown age is treated as a minor: age-limited posts need a known, old-enough viewer.
        too_young = (min_age > 0) if age is None else (min_age > age)
        out = {"age_restricted": too_young}
        if not ctx.user.settings.show_sensitive:
            out["sensitive_opt_out"] = self._cat.sensitive[pids]
        hidden = [self._cat.categories.find(c) for c in ctx.user.settings.hidden_categories]
        hidden = [c for c in hidden if c > 0]
        if hidden:
            out["category_opt_out"] = np.isin(self._cat.category[pids], hidden)
        return out
