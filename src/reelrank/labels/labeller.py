"""Joins later events to the impressions they answer and emits labelled examples.

An event answers an impression when it is by the same user on the same post, no earlier than the
impression and within `window_s` of it (the latest such impression wins; a matching request_id wins
outright). An impression whose window has closed with no answer is a negative for every head.

The labeller runs on a watermark: `step(now)` labels every impression older than `now - window_s`
(its window is closed, so its labels are final) and advances the watermark there. A labeller whose
watermark stops advancing while events keep arriving is *stalled*: `health()` says so and the
`stalled` gauge is raised, so nobody trains on impressions whose answers were never joined.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from reelrank.domain import Event, EventKind
from reelrank.state.records.base import ImpressionRecord, RecordStore

HEADS: tuple[str, ...] = ("completion", "like", "share", "save", "comment", "follow", "skip", "not_interested",
                          "report")
COMPLETION_RATIO = 0.9  # watched at least this share of the video
_KIND_HEAD: dict[EventKind, str] = {
    EventKind.LIKE: "like", EventKind.SHARE: "share", EventKind.SAVE: "save", EventKind.COMMENT: "comment",
    EventKind.FOLLOW: "follow", EventKind.SKIP: "skip", EventKind.NOT_INTERESTED: "not_interested",
    EventKind.HIDE: "not_interested", EventKind.REPORT: "report",
}


@dataclass
class LabelledExample:
    impression: ImpressionRecord
    watch_ratio: float = 0.0
    labels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HEADS, 0))


def label(impressions: Iterable[ImpressionRecord], events: Iterable[Event], window_s: float) -> list[LabelledExample]:
    """Pure join: every impression becomes one example; events outside any window are ignored."""
    examples = [LabelledExample(imp) for imp in impressions]
    by_key: defaultdict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    by_request: dict[tuple[str, str], int] = {}
    for i, ex in enumerate(examples):
        imp = ex.impression
        by_key[(imp.user_id, imp.post_id)].append((imp.ts, i))
        by_request[(imp.request_id, imp.post_id)] = i
    for lst in by_key.values():
        lst.sort()
    for e in events:
        if e.post_id is None:
            continue
        i = by_request.get((e.request_id, e.post_id), -1) if e.request_id else -1
        if i < 0 or examples[i].impression.user_id != e.user_id:
            # No request id (or a foreign one): the latest impression of this user+post before the
            # event, if the event falls within its window. A request-id match needs no window: the
            # client said which page it answers (its clock may differ from the server's).
            shown = by_key.get((e.user_id, e.post_id))
            if not shown:
                continue
            j = bisect.bisect_right(shown, (e.ts, len(examples))) - 1
            if j < 0 or e.ts - shown[j][0] > window_s:
                continue
            i = shown[j][1]
        ex = examples[i]
        if e.kind is EventKind.VIEW and e.watch_ms is not None and e.duration_ms:
            ex.watch_ratio = max(ex.watch_ratio, min(e.watch_ms / e.duration_ms, 1.0))
            if ex.watch_ratio >= COMPLETION_RATIO:
                ex.labels["completion"] = 1
        head = _KIND_HEAD.get(e.kind)
        if head is not None:
            ex.labels[head] = 1
    return examples


class Labeller:
    def __init__(self, records: RecordStore, window_s: float = 1800.0, stall_after_s: float = 600.0,
                 watermark: float = 0.0) -> None:
        self._records = records
        self.window_s = window_s
        self.stall_after_s = stall_after_s
        self.watermark = watermark
        self._events_at_step = -1
        self._events_now = 0

    def step(self, now: float | None = None) -> list[LabelledExample]:
        """Label every impression whose window closed since the last step; advance the watermark."""
        return self.label_until((time.time() if now is None else now) - self.window_s)

    def label_until(self, cutoff: float) -> list[LabelledExample]:
        """`step` with the cutoff given: impressions with watermark <= ts < cutoff (their windows must have
        closed), then the watermark moves to `cutoff`."""
        if cutoff <= self.watermark:
            return []
        imps = [r for b in self._records.scan_impressions(self.watermark, cutoff) for r in b]
        if not imps:  # nothing to label: no need to read the events
            self.watermark = cutoff
            self._events_at_step = self._records.count_events()
            return []
        events: list[Event] = []
        for batch in self._records.scan_events(since_ts=self.watermark):
            events.extend(e for e in batch if e.ts < cutoff + self.window_s)
            if batch and batch[-1].ts >= cutoff + self.window_s:
                break
        out = label(imps, events, self.window_s)
        self.watermark = cutoff
        self._events_at_step = self._records.count_events()
        return out

    def health(self, now: float | None = None) -> dict[str, float | bool]:
        """`stalled`: the watermark lags closed windows by more than `stall_after_s` while new events
        have arrived since the last step (an idle system is not stalled)."""
        now = time.time() if now is None else now
        lag = max(now - self.window_s - self.watermark, 0.0)
        # count_events only when lagging: it is a full count on SQLite, too dear for every health check.
        stalled = lag > self.stall_after_s and self._records.count_events() != self._events_at_step
        return {"watermark": self.watermark, "lag_s": lag, "stalled": bool(stalled)}
