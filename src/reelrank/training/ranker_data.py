"""Labelled examples -> arrays for the ranker: features (N, F) in FEATURES order, labels (N, T)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reelrank.labels.label_job import example_arrays
from reelrank.labels.labeller import LabelledExample


@dataclass(frozen=True)
class RankerData:
    x: np.ndarray  # (N, F) float32; the position column holds the logged page position
    y: np.ndarray  # (N, T) float32: one column per HEADS, then the watch ratio
    ts: np.ndarray  # (N,) float64 impression time (for the time split)

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, idx: np.ndarray) -> RankerData:
        return RankerData(self.x[idx], self.y[idx], self.ts[idx])

    def time_split(self, test_share: float = 0.2) -> tuple[RankerData, RankerData]:
        """Earlier impressions train, the latest `test_share` test (no future leaks into training)."""
        order = np.argsort(self.ts, kind="stable")
        cut = int(len(order) * (1.0 - test_share))
        return self.take(order[:cut]), self.take(order[cut:])


def to_arrays(examples: Sequence[LabelledExample]) -> RankerData:
    a = example_arrays(list(examples))
    return RankerData(a["x"], a["y"], a["ts"])
