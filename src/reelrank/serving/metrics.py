"""Prometheus metrics, one registry per engine (so tests and several engines in one process never clash)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from reelrank.pipeline.trace import StageRecord

_MS_BUCKETS = (0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 25, 50, 100, 250, 1000)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.feed_requests = Counter("reelrank_feed_requests", "Feed pages served", ["surface"], registry=r)
        self.feed_latency = Histogram("reelrank_feed_latency_ms", "Feed latency inside the engine (ms)",
                                      ["surface"], buckets=_MS_BUCKETS, registry=r)
        self.stage_latency = Histogram("reelrank_stage_latency_ms", "Time per funnel stage (ms)",
                                       ["stage", "name"], buckets=_MS_BUCKETS, registry=r)
        self.stage_degraded = Counter("reelrank_stage_degraded", "Stages that timed out or failed (fail-open)",
                                      ["stage", "name", "status"], registry=r)
        self.events = Counter("reelrank_events", "Events received", ["outcome"], registry=r)
        self.posts_written = Counter("reelrank_posts_written", "Posts created or updated", registry=r)
        self.catalogue_size = Gauge("reelrank_catalogue_posts", "Posts in the catalogue", registry=r)
        self.index_size = Gauge("reelrank_index_vectors", "Live vectors in the ANN index", registry=r)
        # Ranking stack (labels/): lost impressions and a labeller whose watermark stopped advancing.
        self.impressions_dropped = Counter("reelrank_impressions_dropped", "Impressions dropped: logger buffer "
                                           "full (store down)", registry=r)
        self.labeller_lag = Gauge("reelrank_labeller_lag_seconds", "Closed attribution windows not yet labelled",
                                  registry=r)
        self.labeller_stalled = Gauge("reelrank_labeller_stalled", "1 while the labeller's watermark is stuck "
                                      "and events keep arriving", registry=r)

    def observe_labeller(self, health: dict[str, float | bool]) -> None:
        self.labeller_lag.set(float(health["lag_s"]))
        self.labeller_stalled.set(1.0 if health["stalled"] else 0.0)

    def observe_stage(self, rec: StageRecord) -> None:
        self.stage_latency.labels(rec.stage, rec.name).observe(rec.ms)
        if rec.status != "ok":
            self.stage_degraded.labels(rec.stage, rec.name, rec.status).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
