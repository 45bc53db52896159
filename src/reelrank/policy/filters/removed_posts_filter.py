"""Posts that are removed (by the platform or past the report threshold) are never served."""

from __future__ import annotations

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue


class RemovedPostsFilter:
    name = "removed"

    def __init__(self, catalogue: Catalogue) -> None:
        self._cat = catalogue

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        return {"removed": ~self._cat.active[cands.pids]}
