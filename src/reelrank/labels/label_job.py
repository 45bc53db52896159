"""The labeller as a background job: steps it periodically, writes each step's labelled examples as an
npz shard (features, labels, ts: the ranker's training arrays; labels/label_store.py) under
<data_dir>/labels/, persists the watermark, and exports its health (lag, stalled) to the metrics.

It runs where the event-stream consumers run (engine.py): in the one process of embedded mode, in
`reelrank worker` in server mode, never in a server-mode serving process. Several workers sharing a
data_dir take turns: a step runs under the store's exclusive lock and resumes from the watermark on disk.
`reelrank train ranker` trains from the shards (training/ranker_logs.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from reelrank.labels.label_store import LabelStore
from reelrank.labels.labeller import HEADS, LabelledExample, Labeller
from reelrank.ranking.ranking_features import FEATURES, POSITION, column_of
from reelrank.state.records.base import RecordStore

log = logging.getLogger(__name__)
HealthSink = Callable[[dict[str, float | bool]], None]


def example_arrays(examples: list[LabelledExample]) -> dict[str, np.ndarray]:
    """x (N, F) features with the logged position, y (N, T) labels + watch ratio, ts (N,), features (F,)."""
    n = len(examples)
    x = np.zeros((n, len(FEATURES)), dtype=np.float32)
    y = np.zeros((n, len(HEADS) + 1), dtype=np.float32)
    ts = np.zeros(n, dtype=np.float64)
    cols = [column_of(f) for f in FEATURES]
    for i, ex in enumerate(examples):
        sc = ex.impression.scores
        x[i] = [sc.get(c, 0.0) for c in cols]
        x[i, POSITION] = max(ex.impression.position, 0)
        y[i, : len(HEADS)] = [ex.labels[h] for h in HEADS]
        y[i, -1] = ex.watch_ratio
        ts[i] = ex.impression.ts
    return {"x": x, "y": y, "ts": ts, "features": np.asarray(FEATURES)}


class LabelJob:
    """step_s: labels advance in whole steps of this many seconds (cutoffs on multiples of it; default a
    minute, or the window when shorter), so the engine's 5 s maintenance loop writes at most one shard a
    minute, and a call inside the same step returns at once without touching the folder. 0: every call
    labels up to `now - window_s`."""

    def __init__(self, records: RecordStore, folder: Path, window_s: float, stall_after_s: float = 600.0,
                 on_health: HealthSink | None = None, step_s: float | None = None) -> None:
        self.folder = folder
        self.step_s = min(60.0, window_s) if step_s is None else step_s
        self.store = LabelStore(folder)
        mark = self.store.watermark()
        # A new store labels from now on; `train ranker` joins the older backlog itself.
        start = time.time() - window_s if mark is None else mark
        self.labeller = Labeller(records, window_s, stall_after_s, watermark=start)
        self._on_health = on_health

    def run_once(self, now: float | None = None) -> int:
        """One step: returns how many examples were written (0 too when another process holds the
        labelling lock). Errors leave the watermark where it was (so the health check reports the stall)
        and are raised to the caller's log."""
        now = time.time() if now is None else now
        try:
            cutoff = now - self.labeller.window_s
            if self.step_s > 0:
                cutoff = math.floor(cutoff / self.step_s) * self.step_s
            if cutoff <= self.labeller.watermark:
                return 0  # still inside the step labelled last (or labelled by another worker)
            with self.store.exclusive() as mine:
                mark = self.store.watermark()  # another worker may have labelled since our last step
                if mark is not None and mark > self.labeller.watermark:
                    self.labeller.watermark = mark
                if not mine:
                    return 0
                start = self.labeller.watermark
                examples = self.labeller.label_until(cutoff)
                if self.labeller.watermark > start:
                    self.store.write(example_arrays(examples), start, self.labeller.watermark)
                return len(examples)
        finally:
            if self._on_health is not None:
                self._on_health(self.labeller.health(now))
