"""Combines the ranker's head predictions into one value per candidate (weights per surface, config.py
RankingSettings; see README 'Ranking stack' for how to tune them)."""

from __future__ import annotations

import numpy as np

from reelrank.config import ValueWeights
from reelrank.labels.labeller import HEADS

WATCH_WEIGHT = 1.0  # expected watch ratio, on top of P(completion)


def value_of(preds: dict[str, np.ndarray], w: ValueWeights) -> np.ndarray:
    """preds: head -> (N,) probabilities (and 'watch') -> (N,) float32 value."""
    n = len(next(iter(preds.values())))
    v = np.zeros(n, dtype=np.float32)
    for head in HEADS:
        v += np.float32(getattr(w, head)) * preds[head]
    if "watch" in preds:
        v += np.float32(WATCH_WEIGHT) * preds["watch"]
    return v
