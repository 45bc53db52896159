"""Logs served impressions off the hot path: the feed thread appends to a bounded buffer; a
background thread writes batches to the RecordStore.

Never silently lossy: a failed write keeps its batch and retries; only when the buffer is full
(the store has been down for a while) are the oldest impressions dropped, and each drop is counted
(`dropped`, exported as a metric and in health), so training knows its logs have a hole.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence

from reelrank.state.records.base import ImpressionRecord, RecordStore

log = logging.getLogger(__name__)


class ImpressionLogger:
    def __init__(self, records: RecordStore, *, max_buffer: int = 200_000, batch: int = 2_000,
                 flush_every_s: float = 0.5, on_drop: Callable[[int], None] | None = None) -> None:
        self._records = records
        self._buf: deque[ImpressionRecord] = deque()
        self._max = max_buffer
        self._batch = batch
        self._every = flush_every_s
        self._on_drop = on_drop
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.written = 0
        self.failures = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="impression-logger", daemon=True)
            self._thread.start()

    def log(self, impressions: Sequence[ImpressionRecord]) -> None:
        """Called on the feed path: O(page) appends under a lock, no I/O."""
        with self._lock:
            self._buf.extend(impressions)
            over = len(self._buf) - self._max
            for _ in range(max(over, 0)):
                self._buf.popleft()
        if over > 0:
            self.dropped += over
            log.error("impression buffer full: dropped %d impressions (store down?)", over)
            if self._on_drop is not None:
                self._on_drop(over)
        if len(self._buf) >= self._batch:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def flush(self) -> int:
        """Write everything buffered now; returns how many were written. Failed batches stay queued."""
        n = 0
        while True:
            with self._lock:
                chunk = [self._buf.popleft() for _ in range(min(self._batch, len(self._buf)))]
            if not chunk:
                return n
            try:
                self._records.append_impressions(chunk)
            except Exception:
                self.failures += 1
                log.exception("writing %d impressions failed; kept for retry", len(chunk))
                with self._lock:
                    self._buf.extendleft(reversed(chunk))
                return n
            n += len(chunk)
            self.written += len(chunk)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._every)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def health(self) -> dict[str, int]:
        return {"pending": self.pending, "written": self.written, "dropped": self.dropped, "failures": self.failures}
