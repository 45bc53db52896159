"""The real-time layer: what happens to an accepted event after the durable append.

    ingest call (inline, before the response)      stream consumers (after, in order, once)
    ---------------------------------------------  ------------------------------------------------
    seen, session sequence, interest vector,       "features": per-post window counters, creator
    topic / creator affinity, popularity           baselines, co-engagement neighbour lists
    (the user's next page depends on them)         "trends": velocity sketch -> trend detector ->
                                                   trending pool

Split this way because read-your-writes only matters for the person who acted: their next page must
see their own event, so user-scoped features are applied in the call. Aggregates (everyone's counts)
are applied by consumers of the event stream, off the request path, where batching makes them cheap
and a slow or failing aggregate cannot fail an ingest. In the embedded default one consumer thread
per group drains the in-process stream (typically within milliseconds); `drain = "sync"` applies
aggregates before the ingest call returns instead (deterministic, used by tests). In server mode the
same consumers run on Redis Streams and Redis, one consumer per process in each group, and the work
is shared. On start-up with in-process state, aggregates are rebuilt from the durable event log.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

from reelrank.config import Settings
from reelrank.domain import Event
from reelrank.features.aggregate_features_handler import AggregateFeaturesHandler
from reelrank.features.co_engagement import CoEngagement
from reelrank.features.creator_baselines import CreatorBaselines
from reelrank.features.post_counters import PostCounters
from reelrank.state.catalogue import Catalogue
from reelrank.state.online.base import OnlineState
from reelrank.state.stream.base import EventStream, entry_key
from reelrank.stream.consumer import ConsumerSettings, EntryHandler, StreamConsumer
from reelrank.stream.event_codec import encode_events
from reelrank.trends.count_min_sketch import CountMinSketch
from reelrank.trends.trend_detector import TrendDetector, TrendRule
from reelrank.trends.trending_pool import TrendingPool
from reelrank.trends.windowed_sketch import WindowedSketch

log = logging.getLogger(__name__)
Resolved = tuple[Event, int, int]  # (event, uid, pid) as the event writer resolved it


class _FeaturesGroup:
    """The "features" group's handler: the aggregates, then co-engagement. Co-engagement is best effort: a
    failure there is logged and dropped, so it never makes the group re-apply (and double count) the
    aggregates of an entry."""

    name = "features"

    def __init__(self, aggregates: AggregateFeaturesHandler, co_engagement: CoEngagement | None) -> None:
        self._aggregates = aggregates
        self._co = co_engagement

    def handle(self, payloads: Sequence[bytes]) -> None:
        self._aggregates.handle(payloads)
        if self._co is None:
            return
        try:
            self._co.handle(payloads)
        except Exception:
            log.exception("co-engagement: applying %d entries failed; their pairs are dropped", len(payloads))


class RealtimeLayer:
    def __init__(self, settings: Settings, state: OnlineState, stream: EventStream, catalogue: Catalogue) -> None:
        rt, tr = settings.realtime, settings.trends
        self._rt = rt
        self.stream = stream
        self.counters = PostCounters(state)
        self.baselines = CreatorBaselines(state, tr.baseline_window_s, tr.window_s)
        self.velocity = WindowedSketch(state, CountMinSketch(tr.sketch_width, tr.sketch_depth, seed=tr.sketch_seed),
                                       tr.window_s, tr.bucket_s)
        self.pool = TrendingPool(state, tr.pool_ttl_s, tr.pool_max_per_topic)
        self.detector = TrendDetector(self.velocity, self.baselines, self.pool, catalogue,
                                      TrendRule(tr.threshold, tr.min_volume, tr.min_baseline, tr.max_post_age_s))
        # Co-engagement neighbour lists are kept only while the source reading them is on (k > 0).
        self.co_engagement = CoEngagement(state) if settings.sources.co_engagement_k > 0 else None
        handlers: list[EntryHandler] = [_FeaturesGroup(AggregateFeaturesHandler(self.counters, self.baselines,
                                                                                catalogue), self.co_engagement)]
        if tr.enabled:
            handlers.append(self.detector)
        self._handlers = handlers
        name = rt.consumer_name or f"{socket.gethostname()}-{os.getpid()}"
        cs = ConsumerSettings(batch=rt.batch, block_ms=rt.block_ms, claim_idle_ms=rt.claim_idle_ms)
        self.consumers = [StreamConsumer(stream, state, h.name, name, h, cs) for h in handlers]
        for c in self.consumers if rt.drain != "external" else ():  # external: `reelrank worker` consumes
            c.start()
        self._published: tuple[int, int] = (0, 0)
        self._publish_lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.published_events = 0

    # -- the event path ----------------------------------------------------------------------------
    def publish(self, items: Sequence[Resolved]) -> None:
        """Append accepted events to the stream (one entry per batch); in sync mode apply them now."""
        if not items:
            return
        ids = self.stream.append([encode_events(items)])
        with self._publish_lock:
            self._published = max(self._published, entry_key(ids[-1]))
            self.published_events += len(items)
        if self._rt.drain == "sync":
            try:
                self.drain()
            except Exception:  # the event is stored and user features applied: aggregates retry later
                log.exception("applying aggregates synchronously failed; entries stay pending")

    def replay(self, items: Sequence[Resolved]) -> None:
        """Rebuild aggregates from stored events at start-up, straight into the handlers (not the stream)."""
        horizon = time.time() - 2 * max(86400.0, self.baselines.window_s)  # older events count nowhere
        items = [it for it in items if it[0].ts >= horizon]
        if items:
            payload = encode_events(items)
            for h in self._handlers:
                h.handle([payload])

    # -- draining ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start one consumer thread per group (thread mode); idempotent."""
        if self._rt.drain != "thread" or self._threads:
            return
        for c in self.consumers:
            t = threading.Thread(target=c.run, args=(self._stop,), daemon=True, name=f"consumer-{c.group}")
            t.start()
            self._threads.append(t)

    def drain(self) -> int:
        """Apply everything published so far, in the calling thread (sync mode; tests)."""
        if self._rt.drain == "external":  # another process owns the consumer groups: nothing to do here
            return 0
        if self._threads:
            return 0 if self.wait_applied() else -1
        with self._drain_lock:
            return sum(c.drain() for c in self.consumers)

    def wait_applied(self, timeout_s: float = 10.0) -> bool:
        """Block until every group has applied what was published before the call (or timeout); always
        False in external mode (the workers are other processes)."""
        if not self._threads:
            return self.drain() >= 0 and self._rt.drain != "external"
        target = self._published
        deadline = time.monotonic() + timeout_s
        return all(c.wait_acked(target, max(0.0, deadline - time.monotonic())) for c in self.consumers)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()

    def stats(self) -> dict[str, Any]:
        lag = getattr(self.stream, "lag", None)
        return {
            "published_events": self.published_events,
            "stream_length": self.stream.length(),
            "trend_detections": self.detector.detections,
            "consumers": {c.group: {"applied": c.applied, "skipped": c.skipped, "dropped": c.dropped,
                                    "lag": lag(c.group) if lag is not None else None} for c in self.consumers},
        }
