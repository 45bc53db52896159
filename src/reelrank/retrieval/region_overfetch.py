"""How much of the catalogue a region may not see, so the ANN source can over-fetch.

Region rules are enforced by the mandatory RegionFilter after the merge (every source, ANN
included). That keeps pages correct but can leave the ANN source short when many of its nearest
posts are denied in the viewer's region. The ANN source therefore asks the index for
k / (1 - denied share) results. (Search-time exclusion with a per-region FAISS ID selector is the
alternative; it pays off only when a region is denied a large share of the catalogue.)
"""

from __future__ import annotations

import threading
import time

from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue

REFRESH_S = 10.0
MAX_SHARE = 0.75  # never ask for more than 4x


class RegionDenial:
    def __init__(self, catalogue: Catalogue, refresh_s: float = REFRESH_S) -> None:
        self._cat = catalogue
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, float]] = {}  # region -> (computed at, share)

    def share(self, region: str) -> float:
        now = time.monotonic()
        hit = self._cache.get(region)
        if hit is not None and now - hit[0] < self._refresh_s:
            return hit[1]
        rules = list(self._cat.region_rules.values())  # a copy: writers may add rules meanwhile
        denied = sum(1 for r in rules if not r.permits(region))
        share = min(MAX_SHARE, denied / max(len(self._cat), 1))
        with self._lock:
            self._cache[region] = (now, share)
        return share

    def __call__(self, ctx: FeedContext) -> float:
        return self.share(ctx.user.region)
