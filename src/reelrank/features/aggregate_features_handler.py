"""The stream handler for aggregate features: per-post window counters and creator baselines.

These are read by everyone (the scorer, the trend detector), depend on no single user's next page,
and cost the same whatever the batch: so they are applied by a stream consumer, off the ingest
call, while the user-scoped features stay inline (see stream/realtime_layer.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from reelrank.features.creator_baselines import CreatorBaselines
from reelrank.features.engagement import engagement_units
from reelrank.features.post_counters import PostCounters
from reelrank.state.catalogue import Catalogue
from reelrank.stream.event_codec import concat_events


class AggregateFeaturesHandler:
    name = "features"

    def __init__(self, counters: PostCounters, baselines: CreatorBaselines, catalogue: Catalogue,
                 clock: Callable[[], float] = time.time) -> None:
        self._counters = counters
        self._baselines = baselines
        self._cat = catalogue
        self._clock = clock

    def handle(self, payloads: Sequence[bytes]) -> None:
        events = concat_events(payloads)
        if len(events) == 0:
            return
        now = self._clock()
        self._counters.apply(events, now)
        units = engagement_units(events)
        pids = events["pid"]
        creator = self._cat.creator  # one read: the column may be swapped for a grown copy meanwhile
        ok = (units > 0) & (pids > 0) & (pids < len(creator))
        if ok.any():
            self._baselines.apply(pids[ok], creator[pids[ok]], units[ok], events["ts"][ok], now)

