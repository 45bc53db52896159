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

from reelrank.domain import Edge, EdgeKind, Event, EventKind, Report
from reelrank.features.affinity import AffinityFeatures, AffinityUpdate
from reelrank.features.interest import Interaction, InterestFeatures
from reelrank.features.popularity import PopularityFeatures
from reelrank.features.seen import SeenFeatures
from reelrank.features.signals import event_weight, marks_seen
from reelrank.ingest.account_writer import AccountWriter
from reelrank.ingest.errors import BatchRejected, ItemError
from reelrank.state.accounts import AccountDirectory
from reelrank.state.catalogue import Catalogue
from reelrank.state.records.base import RecordStore


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
        effects (follow edges, reports) were stored the first time and are not written again."""
        interactions: list[Interaction] = []
        seen: defaultdict[int, dict[int, float]] = defaultdict(dict)
        popular: list[tuple[int, float, float, str]] = []
        affinity: list[AffinityUpdate] = []
        never: defaultdict[str, list[str]] = defaultdict(list)  # user id -> posts not to serve again
        profiles = self._accounts.profiles
        for e, uid, pid in items:
            if pid and marks_seen(e.kind):
                seen[uid][pid] = e.ts
            w = event_weight(e.kind, e.watch_ms, e.duration_ms)
            if pid and w != 0.0:
                interactions.append(Interaction(uid, pid, w, e.ts))
                affinity.append(AffinityUpdate(uid, self._cat.topic_names(pid), int(self._cat.creator[pid]), w, e.ts))
                if w > 0:
                    popular.append((pid, w, e.ts, profiles[uid].region))
            if replay:
                continue
            if e.kind is EventKind.FOLLOW:
                self._follow(e, pid)
            elif e.kind is EventKind.REPORT and e.post_id is not None:
                self._account_writer.report(Report(reporter_id=e.user_id, post_id=e.post_id, created_at=e.ts))
            elif e.kind in (EventKind.NOT_INTERESTED, EventKind.HIDE) and e.post_id is not None:
                never[e.user_id].append(e.post_id)
        for user_id, post_ids in never.items():  # durable, with the account: survives the seen window
            self._account_writer.hide_posts(user_id, post_ids)
        self._seen.mark_seen(seen)
        self._interest.apply(interactions)
        self._pop.add(popular)
        self._affinity.apply(affinity)

    def _follow(self, e: Event, pid: int) -> None:
        target = e.target_user_id
        if target is None and pid:
            target = self._accounts.user_id(int(self._cat.creator[pid]))
        if target is not None and target != e.user_id:
            self._account_writer.put_edge(Edge(src=e.user_id, dst=target, kind=EdgeKind.FOLLOW, created_at=e.ts))
