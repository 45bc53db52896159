"""The ranker's feature vector, built from the columns the funnel already computes, so the features
logged with an impression are exactly the ones served (no train/serve skew).

`RankingFeaturesScorer` adds the columns the formula does not keep (per-post rates, user-creator
affinity, source bits, context) under `f:<name>`; `feature_matrix` stacks the FEATURES in order.
`position` is a training-only feature: the logged page position at training time, a constant 0 at
serving (every candidate is scored as if shown first), which takes position bias out of the scores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from reelrank.features.affinity import AffinityFeatures
from reelrank.features.post_counters import PostCounters
from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue

SOURCES = ("ann", "followed", "popular_region", "fresh", "chosen_topics", "two_tower", "exploration", "trending")
RATES = ("like_rate", "share_rate", "save_rate", "comment_rate", "skip_rate", "not_interested_rate",
         "completion_rate")
FUNNEL_COLUMNS = ("similarity", "learned", "popularity", "freshness", "following", "engagement", "trending",
                  "exploration", "topic_affinity")
FEATURES: tuple[str, ...] = (
    *FUNNEL_COLUMNS, "creator_affinity", *RATES, "log_exposures",
    *(f"src_{s}" for s in SOURCES), "is_explore", "hour_sin", "hour_cos", "position",
)
POSITION = FEATURES.index("position")
WINDOW_S = 86400.0


def column_of(name: str) -> str:
    """Where a feature lives in Candidates.columns (and in a logged impression's scores)."""
    return name if name in FUNNEL_COLUMNS else f"f:{name}"


class RankingFeaturesScorer:
    name = "ranking_features"

    def __init__(self, catalogue: Catalogue, source_names: Sequence[str], counters: PostCounters | None,
                 affinity: AffinityFeatures | None) -> None:
        self._cat = catalogue
        self._bits = {s: i for i, s in enumerate(source_names)}
        self._counters = counters
        self._affinity = affinity

    def score(self, ctx: FeedContext, cands: Candidates) -> None:
        pids, n, cols = cands.pids, len(cands), cands.columns
        if self._counters is not None and n and not all(f"f:{r}" in cols for r in RATES):
            # The formula scorer leaves these when it read the same window (see share_rates).
            share_rates(cols, self._counters.rates(pids, WINDOW_S, ctx.now))
        aff = self._affinity.creators(ctx.uid, ctx.now) if self._affinity is not None else {}
        if aff and n:
            cols["f:creator_affinity"] = np.tanh(lookup(aff, self._cat.creator[pids]) / 3.0).astype(np.float32)
        for s in SOURCES:
            bit = self._bits.get(s)
            cols[f"f:src_{s}"] = (((cands.sources >> np.uint32(bit)) & 1).astype(np.float32) if bit is not None
                                  else np.zeros(n, np.float32))
        hour = (ctx.now % 86400.0) / 3600.0
        ctx_vals = {"is_explore": float(ctx.surface.value == "explore"),
                    "hour_sin": math.sin(2 * math.pi * hour / 24), "hour_cos": math.cos(2 * math.pi * hour / 24)}
        for k, v in ctx_vals.items():
            cols[f"f:{k}"] = np.full(n, v, dtype=np.float32)


def share_rates(cols: dict[str, np.ndarray], rates: Mapping[str, np.ndarray]) -> None:
    """Store PostCounters.rates over WINDOW_S as the rate features (f:<rate>, f:log_exposures)."""
    for r in RATES:
        cols[f"f:{r}"] = rates[r]
    cols["f:log_exposures"] = np.log1p(rates["exposures"]).astype(np.float32)


def lookup(values: Mapping[int, float], keys: np.ndarray) -> np.ndarray:
    """(N,) float32: values[key] for each key, 0 for keys not in the mapping (one searchsorted, no loop)."""
    if not values or not len(keys):
        return np.zeros(len(keys), np.float32)
    k = np.fromiter(values.keys(), dtype=np.int64, count=len(values))
    v = np.fromiter(values.values(), dtype=np.float32, count=len(values))
    order = np.argsort(k)
    k, v = k[order], v[order]
    pos = np.minimum(np.searchsorted(k, keys), len(k) - 1)
    return np.where(k[pos] == keys, v[pos], 0.0).astype(np.float32)


_COLUMNS = tuple(column_of(name) for name in FEATURES)


def feature_matrix(columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """(N, F) float32 in FEATURES order; missing columns (no counters, no model) and NaN are 0, position is 0."""
    x = np.zeros((len(FEATURES), n), dtype=np.float32)  # filled row by row (contiguous), transposed once
    for j, name in enumerate(_COLUMNS):
        col = columns.get(name)
        if col is not None:
            x[j] = col
    np.nan_to_num(x, copy=False, nan=0.0)
    return np.ascontiguousarray(x.T)


def logged_features(cols: Mapping[str, np.ndarray], idx: int) -> dict[str, float]:
    """One candidate's features, for its impression record."""
    out: dict[str, float] = {}
    for name in _COLUMNS[:-1]:  # position is logged by the impression itself
        col = cols.get(name)
        if col is not None:
            v = float(col[idx])
            if v == v and v != 0.0:  # not NaN; zeros are implied
                out[name] = round(v, 5)
    return out
