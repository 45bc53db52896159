"""`reelrank worker`: the event-stream consumers of a server-mode deployment (features, trends, labeller),
in their own process.

Each worker joins the consumer groups "features" (post counters, creator baselines) and "trends"
(velocity sketch -> trending pool) on `<prefix>:events` under its own consumer name (host-pid, or
REELRANK_REALTIME__CONSUMER_NAME), so Redis hands each stream entry to one worker of each group: run
more workers to share the work. Entries a dead worker left pending are claimed after
`realtime.claim_idle_ms`; an entry applied but not acknowledged is not applied twice
(stream/consumer.py). The worker keeps a replica of the catalogue (the handlers need creators and
topics) that follows the changes stream like a serving process, and writes index snapshots
periodically (`index.snapshot_every_s`) for serving processes to start from.

The labeller (labels/label_job.py) runs here and in no serving process (engine.py builds it only where
the stream is consumed, not with drain "external"): each maintenance step labels the impressions whose
attribution window closed into <data_dir>/labels/, which `reelrank train ranker` reads. Workers sharing a
data_dir take turns (the label store's lock); its health (lag, stalled) is in `stats`, logged every
`--report-every-s`.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from reelrank.config import Settings

log = logging.getLogger(__name__)


def run_worker(settings: Settings, stop: threading.Event | None = None, report_every_s: float = 0.0,
               maintenance_every_s: float = 5.0) -> None:
    from reelrank.serving.workers import build_engine

    stop = stop or threading.Event()
    engine = build_engine(settings, role="worker")
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    engine.start_maintenance(maintenance_every_s)  # online-state sweeps, store housekeeping, the labeller
    log.warning("reelrank worker consuming %s (%d posts in the replica)",
                f"{settings.backends.redis_prefix}:events", len(engine.catalogue))
    last = time.monotonic()
    try:
        while not stop.wait(0.5):
            if report_every_s and time.monotonic() - last >= report_every_s:
                last = time.monotonic()
                log.warning("worker: %s", stats(engine))
    finally:
        engine.close()


def stats(engine: Any) -> dict[str, Any]:
    out = dict(engine.realtime.stats())
    if engine.labels is not None:  # watermark, lag_s, stalled: the worker is where labelling can stall
        out["labeller"] = engine.labels.labeller.health()
    return out
