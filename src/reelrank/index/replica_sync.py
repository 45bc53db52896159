"""What keeps a CatalogueReplica (index/replica.py) exact across start-up and Redis outages.

Start-up: the engine folds popularity from the stored events (engine.py), and the replica's follower
of `<prefix>:events` starts from the stream position taken *before* that scan, so nothing ingested
meanwhile is missed. An event ingested while the scan runs is then in both: stored (the scan may see
it) and on the stream after the start position. `ReplayedPopularity` remembers a compact key of every
event the scan folded; the follower skips a stream event whose key it holds (each key once), until it
has passed the stream position of the end of the load plus `FENCE_SLACK_MS` (an event is stored a few
ms before it is appended to the stream, never after). Memory: 8 bytes per replayed event, freed then.

Outages: a change published while Redis is unreachable never reaches the stream, and a follower cut
off from Redis cannot tell what it missed. `resync_from_records` re-reads accounts, posts (catalogue
+ index) and the social graph from the record store, the durable truth, and applies the difference.
It costs about what loading the catalogue at start-up costs, once per outage.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from reelrank.domain import EdgeKind, PostStatus
from reelrank.features.signals import event_weight
from reelrank.state.accounts import AccountDirectory, SocialGraph
from reelrank.state.catalogue import Catalogue
from reelrank.stream.event_codec import KIND_CODE

log = logging.getLogger(__name__)
FENCE_SLACK_MS = 10_000


def _positive(resolved: Sequence[tuple[Any, int, int]], profiles: Mapping[int, Any]
              ) -> Iterator[tuple[Any, int, int, float]]:
    """(event, uid, pid, weight) of the positive post events of known users: what popularity counts."""
    for e, uid, pid in resolved:
        w = event_weight(e.kind, e.watch_ms, e.duration_ms)
        if pid and w > 0 and uid in profiles:
            yield e, uid, pid, w


def popularity_items(resolved: Sequence[tuple[Any, int, int]], accounts: AccountDirectory
                     ) -> list[tuple[int, float, float, str]]:
    """(pid, weight, ts, region) for the positive post events among (event, uid, pid) triples."""
    profiles = accounts.profiles
    return [(pid, w, e.ts, profiles[uid].region) for e, uid, pid, w in _positive(resolved, profiles)]


def event_key(uid: int, pid: int, ts: float, kind_code: int) -> int:
    """An event's identity as both the record store and a stream entry can name it (the stream carries
    no event id): who, what, when (to the microsecond), how. Only ever compared within one process."""
    return hash((int(uid), int(pid), round(float(ts) * 1e6), int(kind_code)))


class ReplayedPopularity:
    """Folds stored events into popularity at start-up and remembers which, for the stream follower."""

    def __init__(self, popularity: Any, accounts: AccountDirectory, *, keep_keys: bool = True) -> None:
        """keep_keys=False: fold only (no replica will follow the event stream in this process)."""
        self._pop = popularity
        self._accounts = accounts
        self._keep = keep_keys
        self._chunks: list[np.ndarray] = []
        self._keys: np.ndarray | None = None  # sorted (K,) int64
        self._used: np.ndarray | None = None  # (K,) bool: a key matched once is not matched again
        self.skipped = 0

    def add(self, resolved: Sequence[tuple[Any, int, int]]) -> None:
        """Fold (event, uid, pid) triples into popularity, as popularity_items() would, keeping their keys."""
        profiles = self._accounts.profiles
        rows = list(_positive(resolved, profiles))
        self._pop.add([(pid, w, e.ts, profiles[uid].region) for e, uid, pid, w in rows])
        if rows and self._keep:
            keys = [event_key(uid, pid, e.ts, KIND_CODE[e.kind]) for e, uid, pid, _ in rows]
            self._chunks.append(np.asarray(keys, dtype=np.int64))

    def seal(self) -> None:
        keys = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int64)
        self._chunks = []
        self._keys = np.sort(keys)
        self._used = np.zeros(len(keys), dtype=bool)

    def release(self) -> None:
        """Forget the keys (the follower is past the fence); `skipped` stays."""
        self._chunks, self._keys, self._used = [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)

    def __len__(self) -> int:
        return len(self._keys) if self._keys is not None else sum(len(c) for c in self._chunks)

    def take(self, key: int) -> bool:
        """True (and the key is used up) if the start-up scan folded an event with this key."""
        if self._keys is None:
            self.seal()
        assert self._keys is not None and self._used is not None
        i = int(np.searchsorted(self._keys, key))
        while i < len(self._keys) and self._keys[i] == key:
            if not self._used[i]:
                self._used[i] = True
                self.skipped += 1
                return True
            i += 1
        return False


def resync_from_records(records: Any, catalogue: Catalogue, accounts: AccountDirectory, graph: SocialGraph,
                        index: Any) -> dict[str, int]:
    """Make the in-memory replica match the record store; returns how much changed."""
    users = 0
    for batch in records.scan_users():
        for rec in batch:
            if accounts.profiles.get(rec.uid) != rec.user:
                accounts.upsert(rec.uid, rec.user)
                users += 1
    added = removed = 0
    live = np.sort(index.live_pids())  # one bulk read instead of a locked lookup per post
    for rows in records.scan_posts():
        catalogue.upsert(rows)
        pids = np.fromiter((r.pid for r in rows), dtype=np.int64, count=len(rows))
        held = np.isin(pids, live, assume_unique=True)
        active = np.fromiter((r.status is PostStatus.ACTIVE for r in rows), dtype=bool, count=len(rows))
        todo = [r for r, a, h in zip(rows, active, held, strict=True) if a and not h and r.vector is not None]
        if todo:
            index.add(np.asarray([r.pid for r in todo], dtype=np.int64), np.stack([r.vector for r in todo]))
            added += len(todo)
        gone = pids[~active & held]
        if len(gone):
            index.remove(gone)
            removed += len(gone)
    stored: set[tuple[int, int, EdgeKind]] = set()
    for edges in records.scan_edges():
        stored.update((e.src_uid, e.dst_uid, e.kind) for e in edges)
    in_graph = set(_edges(graph))
    new_edges, old_edges = stored - in_graph, in_graph - stored
    for src, dst, kind in new_edges:
        graph.add(src, dst, kind)
    for src, dst, kind in old_edges:
        graph.remove(src, dst, kind)
    out = {"users": users, "indexed": added, "unindexed": removed,
           "edges_added": len(new_edges), "edges_removed": len(old_edges)}
    log.warning("replica re-synced from the record store: %s", out)
    return out


def _edges(graph: SocialGraph) -> Iterable[tuple[int, int, EdgeKind]]:
    """Every edge the in-memory graph holds (SocialGraph keeps adjacency sets per kind)."""
    for kind, out in list(graph._out.items()):
        for src, dsts in list(out.items()):
            for dst in list(dsts):
                yield src, dst, kind
