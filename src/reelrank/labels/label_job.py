"""The labeller as a background job of the engine: steps it periodically, writes each step's
labelled examples as an npz shard (features, labels, ts: the ranker's training arrays) under
<data_dir>/labels/, persists the watermark, and exports its health (lag, stalled) to the metrics.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from reelrank.labels.labeller import HEADS, LabelledExample, Labeller
from reelrank.ranking.ranking_features import FEATURES, POSITION, column_of
from reelrank.state.records.base import RecordStore

log = logging.getLogger(__name__)
HealthSink = Callable[[dict[str, float | bool]], None]


def example_arrays(examples: list[LabelledExample]) -> dict[str, np.ndarray]:
    """x (N, F) features with the logged position, y (N, T) labels + watch ratio, ts (N,)."""
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
    return {"x": x, "y": y, "ts": ts}


class LabelJob:
    def __init__(self, records: RecordStore, folder: Path, window_s: float, stall_after_s: float = 600.0,
                 on_health: HealthSink | None = None) -> None:
        self.folder = folder
        self._mark = folder / "watermark.json"
        start = time.time() - window_s  # a new store labels from now on; `train ranker` joins the backlog
        if self._mark.exists():
            start = float(json.loads(self._mark.read_text())["watermark"])
        self.labeller = Labeller(records, window_s, stall_after_s, watermark=start)
        self._on_health = on_health

    def run_once(self, now: float | None = None) -> int:
        """One step: returns how many examples were written. Errors leave the watermark where it was
        (so the health check reports the stall) and are raised to the caller's log."""
        try:
            examples = self.labeller.step(now)
            if examples:
                self.folder.mkdir(parents=True, exist_ok=True)
                name = self.folder / f"examples-{int(self.labeller.watermark)}.npz"
                np.savez(name, **example_arrays(examples))  # type: ignore[arg-type]
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._mark.with_suffix(".tmp")
            tmp.write_text(json.dumps({"watermark": self.labeller.watermark}))
            os.replace(tmp, self._mark)
            return len(examples)
        finally:
            if self._on_health is not None:
                self._on_health(self.labeller.health(now))
