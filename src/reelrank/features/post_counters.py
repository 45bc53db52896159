"""Per-post counters over sliding windows (1 min, 5 min, 1 h, 24 h) and the rates derived from them.

Fed by a stream consumer (aggregate features are not on the ingest call's critical path) and read by
the funnel: the formula scorer's `engagement` and `exploration` columns, explanations, trends.

Counts are exact per post (dense uint32 arrays indexed by pid, see windowed_counters.py), which costs
n_windows * 2 buckets * 9 kinds * 4 bytes = 288 bytes per post id: 275 MiB per million posts. Where
that would not fit (every post of a large platform in a 5-minute window) the trend detector counts in
a fixed-size count-min sketch instead (trends/windowed_sketch.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reelrank.domain import EventKind
from reelrank.features.engagement import completed
from reelrank.features.windowed_counters import WindowedCounters
from reelrank.state.online.base import OnlineState
from reelrank.stream.event_codec import KIND_CODE

KINDS: tuple[str, ...] = ("impressions", "views", "completions", "likes", "shares", "saves", "comments", "skips",
                          "not_interested")
COL = {name: i for i, name in enumerate(KINDS)}
WINDOWS_S: tuple[float, ...] = (60.0, 300.0, 3600.0, 86400.0)

# Event kind code -> counter column (-1: not counted here). A completion is a view too (both count).
_COLUMN = np.full(256, -1, dtype=np.int64)
for _kind, _name in ((EventKind.IMPRESSION, "impressions"), (EventKind.VIEW, "views"), (EventKind.LIKE, "likes"),
                     (EventKind.SHARE, "shares"), (EventKind.SAVE, "saves"), (EventKind.COMMENT, "comments"),
                     (EventKind.SKIP, "skips"), (EventKind.NOT_INTERESTED, "not_interested"),
                     (EventKind.HIDE, "not_interested")):
    _COLUMN[KIND_CODE[_kind]] = COL[_name]

# Rates are smoothed towards typical values with PRIOR_WEIGHT pseudo-exposures, so a post seen twice
# and liked once does not outrank one liked by 10% of ten thousand viewers.
PRIOR_WEIGHT = 20.0
PRIOR_RATES = {"completion_rate": 0.3, "like_rate": 0.05, "share_rate": 0.005, "save_rate": 0.01,
               "comment_rate": 0.01, "skip_rate": 0.3, "not_interested_rate": 0.01}
# Engagement value of one exposure: what each rate is worth, in likes (negatives subtract).
VALUE = {"like_rate": 1.0, "comment_rate": 1.0, "share_rate": 2.0, "save_rate": 2.0, "completion_rate": 0.5,
         "skip_rate": -0.2, "not_interested_rate": -2.0}
_RATE_OF = {"like_rate": "likes", "share_rate": "shares", "save_rate": "saves", "comment_rate": "comments",
            "skip_rate": "skips", "not_interested_rate": "not_interested"}  # rate -> count, per exposure
_PRIOR_VALUE = sum(VALUE[k] * PRIOR_RATES[k] for k in VALUE)


class PostCounters:
    def __init__(self, state: OnlineState, windows_s: Sequence[float] = WINDOWS_S) -> None:
        self._w = WindowedCounters(state, "pc", len(KINDS), windows_s)

    @property
    def windows_s(self) -> tuple[float, ...]:
        return self._w.windows_s

    def apply(self, events: np.ndarray, now: float) -> None:
        """Count a decoded event batch (stream/event_codec.py EVENT_DTYPE)."""
        col = _COLUMN[events["kind"]]
        sel = (col >= 0) & (events["pid"] > 0)
        done = completed(events) & (events["pid"] > 0)
        ids = np.concatenate([events["pid"][sel], events["pid"][done]])
        cols = np.concatenate([col[sel], np.full(int(done.sum()), COL["completions"], dtype=np.int64)])
        ts = np.concatenate([events["ts"][sel], events["ts"][done]])
        self._w.add(ids, cols, np.ones(len(ids), dtype=np.int64), ts, now)

    def counts(self, pids: np.ndarray, window_s: float, now: float) -> np.ndarray:
        """(N, len(KINDS)) float32 counts over the last `window_s` seconds; columns in KINDS order."""
        return self._w.counts(pids, window_s, now)

    def rates(self, pids: np.ndarray, window_s: float, now: float) -> dict[str, np.ndarray]:
        """Smoothed rates per post (N,) each, plus `exposures` (impressions, or views when a client
        sends no impressions)."""
        c = self.counts(pids, window_s, now)
        exposures = np.maximum(c[:, COL["impressions"]], c[:, COL["views"]])
        views = c[:, COL["views"]]

        def smooth(num: np.ndarray, den: np.ndarray, prior: float) -> np.ndarray:
            return ((num + PRIOR_WEIGHT * prior) / (den + PRIOR_WEIGHT)).astype(np.float32)

        out = {"exposures": exposures,
               "completion_rate": smooth(c[:, COL["completions"]], views, PRIOR_RATES["completion_rate"])}
        for key, name in _RATE_OF.items():
            out[key] = smooth(c[:, COL[name]], exposures, PRIOR_RATES[key])
        return out

    def engagement(self, pids: np.ndarray, window_s: float, now: float) -> np.ndarray:
        """(N,) float32 in [0, 1]: engagement per exposure against a typical post; 0.5 = typical (and
        every post without data), 1 = twice typical or more, 0 = nothing but skips."""
        return engagement_of(self.rates(pids, window_s, now))


def engagement_of(rates: dict[str, np.ndarray]) -> np.ndarray:
    """PostCounters.engagement from rates already read."""
    value = sum(VALUE[k] * rates[k] for k in VALUE)
    return np.clip(0.5 * value / _PRIOR_VALUE, 0.0, 1.0).astype(np.float32)
