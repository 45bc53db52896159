"""Which stream events count as engagement, in integer units, vectorised over a decoded batch.

One definition shared by the creator baselines and the trend detector, so "velocity over the
creator's baseline" compares like with like. Units are integers because the counters they feed
(counter arrays, count-min sketches) are integer counters (BITFIELD u32 in Redis). Shares and
saves cost the viewer more than a like, so they count double.
"""

from __future__ import annotations

import numpy as np

from reelrank.domain import EventKind
from reelrank.features.signals import COMPLETION_RATIO
from reelrank.stream.event_codec import KIND_CODE

_UNITS = np.zeros(256, dtype=np.int64)
for _kind, _units in ((EventKind.LIKE, 1), (EventKind.COMMENT, 1), (EventKind.SHARE, 2), (EventKind.SAVE, 2)):
    _UNITS[KIND_CODE[_kind]] = _units
VIEW_CODE = KIND_CODE[EventKind.VIEW]


def completed(events: np.ndarray) -> np.ndarray:
    """(N,) bool: views watched to at least COMPLETION_RATIO of the post's duration."""
    dur = events["duration_ms"]
    return (events["kind"] == VIEW_CODE) & (dur > 0) & (events["watch_ms"] >= COMPLETION_RATIO * dur)


def engagement_units(events: np.ndarray) -> np.ndarray:
    """(N,) int64 engagement units per event (0 for impressions, partial views, skips, ...)."""
    units = _UNITS[events["kind"]]
    return units + completed(events).astype(np.int64)
