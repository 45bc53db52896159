"""How much each interaction says about interest: one table, used by every feature that learns from events."""

from __future__ import annotations

from reelrank.domain import EventKind

# Explicit actions. Positive = more of this; negative = less of this. Shares and saves say more than a
# like (they cost the person something); "not interested", hide and report are strong negatives.
KIND_WEIGHT: dict[EventKind, float] = {
    EventKind.IMPRESSION: 0.0,
    EventKind.LIKE: 1.0,
    EventKind.COMMENT: 1.2,
    EventKind.SHARE: 1.5,
    EventKind.SAVE: 1.5,
    EventKind.FOLLOW: 1.0,
    EventKind.SKIP: -0.5,
    EventKind.NOT_INTERESTED: -2.0,
    EventKind.HIDE: -2.0,
    EventKind.REPORT: -3.0,
}

COMPLETION_RATIO = 0.9
LONG_VIEW_RATIO = 0.5
QUICK_SKIP_RATIO = 0.15
PHOTO_LONG_DWELL_MS = 3000


def view_weight(watch_ms: int | None, duration_ms: int | None) -> float:
    """A view's weight from how much of the post was watched (or, for photos, the dwell time)."""
    if watch_ms is None:
        return 0.0
    if not duration_ms:
        return 0.4 if watch_ms >= PHOTO_LONG_DWELL_MS else 0.0
    ratio = watch_ms / duration_ms
    if ratio >= COMPLETION_RATIO:
        return 1.0
    if ratio >= LONG_VIEW_RATIO:
        return 0.5
    if ratio < QUICK_SKIP_RATIO:
        return -0.3
    return 0.1


def event_weight(kind: EventKind, watch_ms: int | None = None, duration_ms: int | None = None) -> float:
    if kind is EventKind.VIEW:
        return view_weight(watch_ms, duration_ms)
    return KIND_WEIGHT.get(kind, 0.0)


def marks_seen(kind: EventKind) -> bool:
    """Every post-level interaction means the person saw the post."""
    return kind is not EventKind.FOLLOW
