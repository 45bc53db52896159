"""From the engine's logs to a trained ranker (`reelrank train ranker`): gather labelled impressions,
split by time, train, evaluate per head (AUC, ECE) and publish a registry version.

Where the labels come from (`labels`):
- "auto" (default): the label job's stored shards (<data_dir>/labels/, labels/label_store.py), plus
  impressions they do not cover joined on the fly: those older than the first shard (logged before the
  label job ran) and those whose window closed after its last step (`now` ahead of the job, e.g. a worker
  that is down or simulated logs with a fast-forwarded clock). Without shards, everything is joined.
- "stored": the shards only (an error when there are none).
- "join": everything joined on the fly from impressions and events (the label job's output ignored).
The shards and the join give the same examples for the same impressions (the same `label` function),
so "auto" only saves the join's full read of the event log for the range the shards hold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reelrank.labels.label_store import LabelStore
from reelrank.labels.labeller import LabelledExample, Labeller, label
from reelrank.ranking.ranker_model import RankerBundle
from reelrank.ranking.ranking_features import FEATURES
from reelrank.state.records.base import RecordStore
from reelrank.training.ranker import RankerTrainConfig, evaluate, save_bundle, train_ranker
from reelrank.training.ranker_data import RankerData, to_arrays

LABEL_SOURCES = ("auto", "stored", "join")


def labelled_examples(records: RecordStore, window_s: float, now: float | None = None) -> list[LabelledExample]:
    """Every impression older than `now - window_s` with the events that answer it (batch labelling)."""
    cutoff = (time.time() if now is None else now) - window_s
    imps = [r for b in records.scan_impressions(0.0, cutoff) for r in b]
    events = [e for b in records.scan_events(0.0) for e in b]
    return label(imps, events, window_s)


def _joined(records: RecordStore, window_s: float, since: float, until: float) -> RankerData:
    """Impressions with since <= ts < until, labelled now (their windows must have closed)."""
    return to_arrays(Labeller(records, window_s, watermark=since).label_until(until))


def training_data(records: RecordStore, data_dir: Path, window_s: float, now: float | None = None,
                  labels: str = "auto") -> tuple[RankerData, dict[str, Any]]:
    """The labelled impressions older than `now - window_s`, and where they came from."""
    if labels not in LABEL_SOURCES:
        raise ValueError(f"labels must be one of {LABEL_SOURCES}, not {labels!r}")
    cutoff = (time.time() if now is None else now) - window_s
    stored = None if labels == "join" else LabelStore(data_dir / "labels").read(FEATURES, until=cutoff)
    if stored is None:
        if labels == "stored":
            raise ValueError(f"no stored labels under {data_dir / 'labels'}: run the worker (server mode) or "
                             "the engine (embedded) until the label job has written some, or use labels 'join'")
        data = to_arrays(labelled_examples(records, window_s, now))
        return data, {"source": "join", "stored": 0, "joined": len(data)}
    parts = [RankerData(stored.x, stored.y, stored.ts)]
    if labels == "auto":
        parts += [_joined(records, window_s, 0.0, stored.start), _joined(records, window_s, stored.end, cutoff)]
    data = RankerData(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                      np.concatenate([p.ts for p in parts]))
    info = {"source": "stored" if len(data) == len(stored.ts) else "stored+join", "stored": len(stored.ts),
            "joined": len(data) - len(stored.ts), "shards": stored.shards, "stored_range": [stored.start, stored.end]}
    return data, info


@dataclass(frozen=True)
class RankerRun:
    version: str | None
    metrics: dict[str, Any]
    n_train: int
    n_test: int
    labels: dict[str, Any] = field(default_factory=dict)  # where the examples came from (training_data)
    bundle: RankerBundle | None = None  # the trained models (published as `version` when activated)


def train_from_logs(records: RecordStore, data_dir: Path, *, window_s: float = 1800.0, now: float | None = None,
                    cfg: RankerTrainConfig | None = None, test_share: float = 0.2, activate: bool = True,
                    progress: bool = True, labels: str = "auto", ddp: bool = False) -> RankerRun:
    """`ddp`: inside a torchrun process group (training/distributed.py): every rank trains its shard of the
    rows in DistributedDataParallel; pass activate only on rank 0."""
    data, source = training_data(records, data_dir, window_s, now, labels)
    if len(data) < 100:
        raise ValueError(f"only {len(data)} labelled impressions: serve more pages before training a ranker")
    train, test = data.time_split(test_share)
    bundle = train_ranker(train, cfg, progress=progress, ddp=ddp)
    metrics = evaluate(bundle, test)
    version = None
    if activate:
        version = save_bundle(bundle, data_dir, metrics, {**_window(train, test), "labels": source})
    return RankerRun(version, metrics, len(train), len(test), source, bundle)


def _window(train: RankerData, test: RankerData) -> dict[str, Any]:
    return {"train": [float(train.ts.min()), float(train.ts.max())],
            "test": [float(test.ts.min()), float(test.ts.max())], "n_train": len(train), "n_test": len(test)}
