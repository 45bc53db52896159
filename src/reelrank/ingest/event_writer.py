"""The event path: validate ids, append durably (idempotent), then update online features at once.

Online updates happen in the request, before the response, so a feed request made right after an
accepted event already sees it (read-your-writes). Duplicates (same event_id) change nothing.
Accepted events are then published to the event stream, whose consumers update the aggregates
(post counters, creator baselines, trends): see stream/realtime_layer.py for the split.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reelrank.domain import Edge, EdgeKind, Event, EventKind, Report
from reelrank.features.affinity import AffinityFeatures
from reelrank.features.interest import InterestFeatures
from reelrank.features.popularity import PopularityFeatures
from reelrank.features.seen import SeenFeatures
from reelrank.features.signals import event_weight, marks_seen
from reelrank.ingest.account_writer import AccountWriter
from reelrank.ingest.errors import BatchRejected, ItemError
from reelrank.state.accounts import AccountDirectory
from reelrank.state.catalogue import Catalogue
from reelrank.state.records.base import RecordStore

_DURABLE = frozenset({EventKind.FOLLOW, EventKind.REPORT, EventKind.NOT_INTERESTED, EventKind.HIDE})


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int


class EventWriter:
    def __init__(self, records: RecordStore, accounts: AccountDirectory, catalogue: Catalogue,
                 account_writer: AccountWriter, interest: InterestFeatures, seen: SeenFeatures,
                 popularity: PopularityFeatures, affinity: AffinityFeatures, max_batch: int,
                 publish: Callable[[Sequence[tuple[Event, int, int]]], None] | None = None) -> None:
        self._records = records
        self._accounts = accounts
        self._cat = catalogue
        self._account_writer = account_writer
        self._interest = interest
        self._seen = seen
        self._pop = popularity
        self._affinity = affinity
        self._max_batch = max_batch
        self._publish = publish  # the event stream (stream/realtime_layer.py): aggregates, trends

    def ingest(self, events: Sequence[Event]) -> IngestResult:
        if len(events) > self._max_batch:
            raise BatchRejected("events", [ItemError(self._max_batch, "events",
                                                     f"at most {self._max_batch} events per batch")])
        resolved = self._resolve(events)
        fresh = self._records.append_events(events)
        new = [(e, uid, pid) for (e, uid, pid), ok in zip(resolved, fresh, strict=True) if ok]
        self.apply(new)
        if self._publish is not None and new:
            self._publish(new)
        return IngestResult(accepted=len(new), duplicates=len(events) - len(new))

    def _resolve(self, events: Sequence[Event]) -> list[tuple[Event, int, int]]:
        """Map ids to uids/pids; reject the whole batch if any id is unknown."""
        uid_of, pid_of = self._accounts.uid_of, self._cat.pid_of
        out: list[tuple[Event, int, int]] = []
        errors: list[ItemError] = []
        for i, e in enumerate(events):
            uid = uid_of.get(e.user_id)
            if uid is None:
                errors.append(ItemError(i, "user_id", f"user '{e.user_id}' does not exist"))
            pid = 0
            if e.post_id is not None:
                pid = pid_of.get(e.post_id, 0)
                if pid == 0:
                    errors.append(ItemError(i, "post_id", f"post '{e.post_id}' does not exist"))
            if e.target_user_id is not None and e.target_user_id not in uid_of:
                errors.append(ItemError(i, "target_user_id", f"user '{e.target_user_id}' does not exist"))
            out.append((e, uid or 0, pid))
        if errors:
            raise BatchRejected("events", errors)
        return out

    def apply(self, items: Sequence[tuple[Event, int, int]], replay: bool = False) -> None:
        """Fold new events into online features. `replay` rebuilds state on start-up: the durable side
        effects (follow edges, reports) were stored the first time and are not written again.

        Vectorised: the batch becomes (N,) arrays once and each feature groups them by user with
        numpy, then writes all its users' keys with one bulk call (zadd_many, set_many, push_capped_many,
        hincr_many: one lock in memory). The writes go to online state in one batch: in server mode one
        MGET of the long-term vectors and one Redis script call for all writes, sent before this returns
        (read-your-writes).
        """
        if not items:
            return
        if not replay:
            self._durable(items)
        n = len(items)
        uid = np.fromiter((u for _, u, _ in items), dtype=np.int64, count=n)
        pid = np.fromiter((p for _, _, p in items), dtype=np.int64, count=n)
        ts = np.fromiter((e.ts for e, _, _ in items), dtype=np.float64, count=n)
        w = np.fromiter((event_weight(e.kind, e.watch_ms, e.duration_ms) for e, _, _ in items), dtype=np.float64,
                        count=n)
        seen_rows = np.flatnonzero((pid != 0) & np.fromiter((marks_seen(e.kind) for e, _, _ in items), dtype=bool,
                                                            count=n))
        seen: defaultdict[int, dict[int, float]] = defaultdict(dict)
        for u, p, t in zip(uid[seen_rows].tolist(), pid[seen_rows].tolist(), ts[seen_rows].tolist(), strict=True):
            seen[u][p] = t  # a later event on the same post wins, as before
        rows = np.flatnonzero((pid != 0) & (w != 0.0))
        r_uid, r_pid, r_w, r_ts = uid[rows], pid[rows], w[rows], ts[rows]
        cat = self._cat
        topics_of = {p: cat.topic_names(p) for p in set(r_pid.tolist())}
        with self._interest.writing():  # one online-state batch (and the long-term lock) for the whole call
            self._seen.mark_seen(seen)
            self._interest.apply_arrays(r_uid, r_pid, r_w, r_ts)
            self._affinity.apply_arrays(r_uid, [topics_of[p] for p in r_pid.tolist()],
                                        cat.creator[r_pid].astype(np.int64), r_w, r_ts)
        pos = np.flatnonzero(r_w > 0)
        profiles = self._accounts.profiles
        self._pop.add([(p, wt, t, profiles[u].region) for p, wt, t, u in zip(
            r_pid[pos].tolist(), r_w[pos].tolist(), r_ts[pos].tolist(), r_uid[pos].tolist(), strict=True)])

    def _durable(self, items: Sequence[tuple[Event, int, int]]) -> None:
        """Follows, reports and "not interested"/hide: stored with the accounts, in batch order."""
        never: defaultdict[str, list[str]] = defaultdict(list)  # user id -> posts not to serve again
        for e, _, pid in items:
            if e.kind not in _DURABLE:
                continue
            if e.kind is EventKind.FOLLOW:
                self._follow(e, pid)
            elif e.kind is EventKind.REPORT and e.post_id is not None:
                self._account_writer.report(Report(reporter_id=e.user_id, post_id=e.post_id, created_at=e.ts))
            elif e.kind in (EventKind.NOT_INTERESTED, EventKind.HIDE) and e.post_id is not None:
                never[e.user_id].append(e.post_id)
        for user_id, post_ids in never.items():  # durable, with the account: survives the seen window
            self._account_writer.hide_posts(user_id, post_ids)

    def _follow(self, e: Event, pid: int) -> None:
        target = e.target_user_id
        if target is None and pid:
            target = self._accounts.user_id(int(self._cat.creator[pid]))
        if target is not None and target != e.user_id:
            self._account_writer.put_edge(Edge(src=e.user_id, dst=target, kind=EdgeKind.FOLLOW, created_at=e.ts))
