"""`reelrank worker`: the event-stream consumers of a server-mode deployment, in their own process.

Each worker joins the consumer groups "features" (post counters, creator baselines) and "trends"
(velocity sketch -> trending pool) on `<prefix>:events` under its own consumer name (host-pid, or
REELRANK_REALTIME__CONSUMER_NAME), so Redis hands each stream entry to one worker of each group: run
more workers to share the work. Entries a dead worker left pending are claimed after
`realtime.claim_idle_ms`; an entry applied but not acknowledged is not applied twice
(stream/consumer.py). The worker keeps a replica of the catalogue (the handlers need creators and
topics) that follows the changes stream like a serving process, and writes index snapshots
periodically (`index.snapshot_every_s`) for serving processes to start from.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from reelrank.config import Settings

log = logging.getLogger(__name__)


def run_worker(settings: Settings, stop: threading.Event | None = None, report_every_s: float = 0.0) -> None:
    from reelrank.serving.workers import build_engine

    stop = stop or threading.Event()
    engine = build_engine(settings, role="worker")
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    engine.start_maintenance()
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
    return dict(engine.realtime.stats())
