"""From the engine's logs to a trained ranker: label every impression whose window closed, split by
time, train, evaluate per head (AUC, ECE) and publish a registry version (`reelrank train ranker`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelrank.labels.labeller import LabelledExample, label
from reelrank.state.records.base import RecordStore
from reelrank.training.ranker import RankerTrainConfig, evaluate, save_bundle, train_ranker
from reelrank.training.ranker_data import RankerData, to_arrays


def labelled_examples(records: RecordStore, window_s: float, now: float | None = None) -> list[LabelledExample]:
    """Every impression older than `now - window_s` with the events that answer it (batch labelling)."""
    cutoff = (time.time() if now is None else now) - window_s
    imps = [r for b in records.scan_impressions(0.0, cutoff) for r in b]
    events = [e for b in records.scan_events(0.0) for e in b]
    return label(imps, events, window_s)


@dataclass(frozen=True)
class RankerRun:
    version: str | None
    metrics: dict[str, Any]
    n_train: int
    n_test: int


def train_from_logs(records: RecordStore, data_dir: Path, *, window_s: float = 1800.0, now: float | None = None,
                    cfg: RankerTrainConfig | None = None, test_share: float = 0.2, activate: bool = True,
                    progress: bool = True) -> RankerRun:
    data = to_arrays(labelled_examples(records, window_s, now))
    if len(data) < 100:
        raise ValueError(f"only {len(data)} labelled impressions: serve more pages before training a ranker")
    train, test = data.time_split(test_share)
    bundle = train_ranker(train, cfg, progress=progress)
    metrics = evaluate(bundle, test)
    version = None
    if activate:
        version = save_bundle(bundle, data_dir, metrics, _window(train, test))
    return RankerRun(version, metrics, len(train), len(test))


def _window(train: RankerData, test: RankerData) -> dict[str, Any]:
    return {"train": [float(train.ts.min()), float(train.ts.max())],
            "test": [float(test.ts.min()), float(test.ts.max())], "n_train": len(train), "n_test": len(test)}
