"""Topics the viewer muted ('Your Algorithm') are never shown, whether primary or secondary."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue


class MutedTopicsFilter:
    name = "muted_topics"

    def __init__(self, catalogue: Catalogue) -> None:
        self._cat = catalogue

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        if not ctx.muted_topics:
            return {}
        return {"muted_topic": self._cat.topic_mask(cands.pids, ctx.muted_topics)}
