"""One serving process's replica of the catalogue, accounts, graph and ANN index, kept current from Redis.

Server mode runs several processes on one PostgreSQL and one Redis. Each process holds in memory what
the funnel filters on (catalogue columns, accounts, social graph) and its own FAISS replica, loaded at
start-up from the latest index snapshot plus the stored posts newer than it (engine.py). After that,
changes made through any process reach every other one over a Redis stream:

    writer process                                   every other process (its own reader, no group)
    PostWriter.put / remove, AccountWriter.put_users  XREAD <prefix>:changes  -> catalogue.upsert + index.add
    put_edge / delete_edge / report (over threshold)      -> set_active + index.remove, accounts, graph
    -> durable write (PostgreSQL), local apply, XADD <prefix>:changes (JSON, origin-tagged)

Every process reads the whole stream (XREAD, not a consumer group: each replica needs every change).
A process skips its own messages (already applied). Applying a message twice is harmless (upserts,
set adds/removes), so the follower starts from the stream's last id taken *before* the engine loads
its state: nothing written during the load is missed.

The same reader tails the event stream (`<prefix>:events`) to fold popularity (in-process, used by the
"popular in region" source) from every process's events, so all replicas rank popularity alike. In
server mode the event writer's inline popularity update is therefore turned off (the process's own
events come back from the stream a few ms later).

Start-up: the follower skips stream events that the engine already folded into popularity from the
record store (`ReplayedPopularity`, index/replica_sync.py), so an event ingested while a process loads
is counted once, not twice.

Outages: if Redis is unreachable when a change is published, the change is stored and applied locally,
the failure is counted (`publish_failures`), and once Redis answers again the process publishes a
"resync" message. A follower re-syncs from the record store (`resync_from_records`) when it reads such
a message, and after its own connection to Redis failed (it may have missed anything then): first it
applies what the stream holds, then it re-reads accounts, posts and the graph from PostgreSQL. Changes
this process makes during the re-sync are applied again after it (the re-sync may have read older rows).
Popularity from events needs no re-sync: server mode refuses events while Redis is down, and events
stored just before it went away reach the stream later, from the ingest outbox (workers.py).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from reelrank.domain import Edge, EdgeKind, Post, PostStatus, User
from reelrank.features.signals import event_weight
from reelrank.index.replica_sync import (
    FENCE_SLACK_MS,
    ReplayedPopularity,
    event_key,
    popularity_items,
    resync_from_records,
)
from reelrank.ingest.post_writer import post_row
from reelrank.state.accounts import AccountDirectory, SocialGraph
from reelrank.state.catalogue import Catalogue
from reelrank.stream.event_codec import KIND_ORDER, CodecError, decode_events

log = logging.getLogger(__name__)
_FIELD = b"m"
_MAXLEN = 1_000_000
__all__ = ["CatalogueReplica", "ReplayedPopularity", "install", "popularity_items"]


class _NoPopularity:
    """Stands in for the event writer's inline popularity update in server mode (see module doc)."""

    def add(self, items: list[tuple[int, float, float, str]]) -> None:
        return None


class CatalogueReplica:
    """Publishes this process's catalogue/account/graph changes and follows everyone else's."""

    def __init__(self, url: str, prefix: str, catalogue: Catalogue, accounts: AccountDirectory,
                 graph: SocialGraph, index: Any, popularity: Any, *, block_ms: int = 1000) -> None:
        import redis

        self._redis_errors = (redis.RedisError, OSError)
        self.changes_key = f"{prefix}:changes"
        self.events_key = f"{prefix}:events"
        self.origin = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._r: Any = redis.Redis.from_url(url, socket_timeout=block_ms / 1000 + 5, socket_connect_timeout=2)
        self._cat, self._accounts, self._graph, self._index, self._pop = catalogue, accounts, graph, index, popularity
        self._block_ms = block_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.applied = 0
        self.publish_failures = 0
        self.resyncs = 0
        self.startup_skipped = 0  # stream events not folded: the engine's start-up scan had folded them
        self.records: Any = None  # the record store, for re-syncs (set by serving/workers.py)
        self.replayed: ReplayedPopularity | None = None  # what the engine's start-up scan folded
        self._fence = (0, 0)  # stream events up to this id may have been folded by that scan
        self._resync_due = False  # this follower lost Redis: it may have missed changes
        self._owe_notice = False  # a publish failed: tell the other replicas once Redis is back
        self._resyncing: list[dict[str, Any]] | None = None  # own changes made during a re-sync
        self._resyncing_lock = threading.Lock()  # request threads append to it, the follower swaps it
        self._notice_due = False  # another process asked for a re-sync: one re-read after this poll round
        self._cursor = {k: self._last_id(k) for k in (self.changes_key, self.events_key)}

    def _last_id(self, key: str) -> str:
        """The stream's newest id now ('0-0' if empty; '$'-like start if Redis is down: follow new ones)."""
        try:
            rows = self._r.xrevrange(key, count=1)
            return rows[0][0].decode() if rows else "0-0"
        except self._redis_errors:
            log.warning("redis unreachable: the replica will follow changes once it is back")
            return "$"

    # -- publishing --------------------------------------------------------------------------------
    def _publish(self, msg: dict[str, Any]) -> None:
        msg["o"] = self.origin
        with self._resyncing_lock:
            if self._resyncing is not None:
                self._resyncing.append(msg)
        try:
            self._r.xadd(self.changes_key, {_FIELD: json.dumps(msg, separators=(",", ":"))},
                         maxlen=_MAXLEN, approximate=True)
        except self._redis_errors:
            self.publish_failures += 1
            self._owe_notice = True
            log.exception("could not publish a catalogue change; replicas re-sync once Redis is back")

    def posts_changed(self, pids: Sequence[int], creator_uids: Sequence[int], posts: Sequence[Post],
                      vectors: np.ndarray) -> None:
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        self._publish({"t": "posts", "rows": [
            {"pid": int(pid), "c": int(c), "post": p.model_dump(mode="json"),
             "v": base64.b64encode(v.tobytes()).decode()}
            for pid, c, p, v in zip(pids, creator_uids, posts, vecs, strict=True)]})

    def post_status(self, pid: int, active: bool) -> None:
        self._publish({"t": "status", "pid": int(pid), "active": active})

    def users_changed(self, uids: Sequence[int], users: Sequence[User]) -> None:
        self._publish({"t": "users", "rows": [{"uid": int(u), "user": x.model_dump(mode="json")}
                                              for u, x in zip(uids, users, strict=True)]})

    def edge_changed(self, src: int, dst: int, kind: EdgeKind, added: bool) -> None:
        self._publish({"t": "edge", "src": int(src), "dst": int(dst), "kind": kind.value, "add": added})

    # -- following ---------------------------------------------------------------------------------
    def apply(self, msg: dict[str, Any]) -> None:
        t = msg["t"]
        if t == "resync":  # collapsed: one re-read after the poll round, however many notices it held
            self._notice_due = True
        elif t == "posts":
            posts = [Post.model_validate(r["post"]) for r in msg["rows"]]
            rows = [post_row(r["pid"], r["c"], p, None) for r, p in zip(msg["rows"], posts, strict=True)]
            self._cat.upsert(rows)
            pids = np.asarray([r["pid"] for r in msg["rows"]], dtype=np.int64)
            vecs = np.stack([np.frombuffer(base64.b64decode(r["v"]), dtype=np.float32) for r in msg["rows"]])
            live = np.asarray([p.status is PostStatus.ACTIVE for p in posts], dtype=bool)
            if live.any():
                self._index.add(pids[live], vecs[live])
            if (~live).any():
                self._index.remove(pids[~live])
        elif t == "status":
            self._cat.set_active(int(msg["pid"]), bool(msg["active"]))
            if not msg["active"]:
                self._index.remove(np.asarray([msg["pid"]], dtype=np.int64))
        elif t == "users":
            for r in msg["rows"]:
                self._accounts.upsert(int(r["uid"]), User.model_validate(r["user"]))
        elif t == "edge":
            kind = EdgeKind(msg["kind"])
            if msg["add"]:
                self._graph.add(int(msg["src"]), int(msg["dst"]), kind)
            else:
                self._graph.remove(int(msg["src"]), int(msg["dst"]), kind)

    def _fold_events(self, payload: bytes, entry_key: tuple[int, int]) -> None:
        try:
            ev = decode_events(payload)
        except CodecError:
            return
        items = []
        profiles = self._accounts.profiles
        replayed = self.replayed if entry_key <= self._fence else None
        for row in ev:
            pid = int(row["pid"])
            wm = int(row["watch_ms"])
            w = event_weight(KIND_ORDER[int(row["kind"])], None if wm < 0 else wm, int(row["duration_ms"]) or None)
            user = profiles.get(int(row["uid"]))
            if pid and w > 0 and user is not None:
                if replayed is not None and replayed.take(event_key(row["uid"], pid, row["ts"], row["kind"])):
                    continue  # folded from the record store at start-up already
                items.append((pid, w, float(row["ts"]), user.region))
        if items:
            self._pop.add(items)

    def poll(self, block_ms: int | None = None) -> int:
        """Read and apply what is new on both streams; returns how many entries were handled."""
        resp = self._r.xread(self._cursor, count=500, block=block_ms)
        n = 0
        for key, rows in resp or []:
            k = key.decode() if isinstance(key, bytes) else key
            for entry_id, fields in rows:
                self._cursor[k] = entry_id.decode()
                n += 1
                try:
                    if k == self.events_key:
                        self._fold_events(fields[b"p"], _id_key(self._cursor[k]))
                        continue
                    msg = json.loads(fields[_FIELD])
                    if msg.get("o") != self.origin:
                        self.apply(msg)
                        self.applied += 1
                except Exception:  # one bad entry must not stop the replica
                    log.exception("replica: could not apply entry %s of %s", entry_id, k)
        if self.replayed is not None and (_id_key(self._cursor[self.events_key]) > self._fence or (
                not n and self._redis_now_ms() > self._fence[0])):  # past the fence, or caught up after it
            log.info("replica: past the start-up fence (%d stream events had been folded from the records)",
                     self.replayed.skipped)
            self.startup_skipped = self.replayed.skipped
            self.replayed.release()  # the engine holds it too
            self.replayed = None  # everything later was stored after the scan: free the keys
        return n

    def resync(self) -> None:
        """Re-read accounts, posts and the graph from the record store (index/replica_sync.py)."""
        if self.records is None:
            log.warning("replica: no record store to re-sync from")
            return
        self._notice_due = False  # what any notice read so far asked for, this re-read covers
        with self._resyncing_lock:
            self._resyncing = []
        try:
            resync_from_records(self.records, self._cat, self._accounts, self._graph, self._index)
        finally:
            with self._resyncing_lock:
                mine, self._resyncing = self._resyncing or [], None
        for msg in mine:  # this process's own changes made meanwhile win over the rows read before them
            if msg["t"] != "resync":
                self.apply(msg)
        self.resyncs += 1

    def _catch_up(self) -> None:
        """After this follower lost Redis: what the stream holds first, then the record store."""
        while self.poll(None):
            pass
        self.resync()
        self._resync_due = False

    def step(self) -> None:
        """One round of the follower thread: follow, catch up after an outage, send an owed notice."""
        try:
            self.poll(self._block_ms)
            if self._resync_due:
                self._catch_up()
            elif self._notice_due:
                self.resync()
            if self._owe_notice:
                self._owe_notice = False
                self._publish({"t": "resync"})  # fails again -> owed again
        except self._redis_errors:
            if not self._resync_due:
                log.warning("replica: redis unreachable; will re-sync from the record store once it is back")
            self._resync_due = True
            self._stop.wait(1.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:
                log.exception("replica: poll failed")
                self._stop.wait(1.0)

    def stats(self) -> dict[str, Any]:
        return {"origin": self.origin, "applied": self.applied, "publish_failures": self.publish_failures,
                "resyncs": self.resyncs, "resync_due": self._resync_due,
                "startup_skipped": self.replayed.skipped if self.replayed is not None else self.startup_skipped}

    def start(self) -> None:
        if self.replayed is not None:  # the start-up scan is over: later stream events were stored after it
            self.replayed.seal()
            self._fence = (self._redis_now_ms() + FENCE_SLACK_MS, 0)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="catalogue-replica")
            self._thread.start()

    def _redis_now_ms(self) -> int:
        """Redis's clock (stream ids carry it), not this host's: they may disagree by more than the slack."""
        try:
            sec, usec = self._r.time()
            return int(sec) * 1000 + int(usec) // 1000
        except self._redis_errors:
            return int(time.time() * 1000)  # Redis down: the best guess there is

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._block_ms / 1000 + 2)
        self._r.close()


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return (int(ms), int(seq or 0)) if ms.isdigit() else (0, 0)


def install(engine: Any, replica: CatalogueReplica) -> None:
    """Make the engine's writers publish their changes (instance attributes: every holder of the
    writer objects, e.g. the event writer's account writer for follows and reports, goes through them)."""
    pw, aw = engine.post_writer, engine.account_writer
    put_posts, remove_post, put_users = pw.put, pw.remove, aw.put_users
    put_edge, delete_edge, report = aw.put_edge, aw.delete_edge, aw.report

    def put(posts: Sequence[Post], vectors: np.ndarray | None = None) -> list[int]:
        if posts and vectors is None:
            vectors = engine.vectorizer.vectorize(posts)  # (N, D): encoded once, for the store and the stream
        pids = put_posts(posts, vectors)
        if pids:
            creators = [engine.accounts.uid_of[p.creator_id] for p in posts]
            replica.posts_changed(pids, creators, posts, np.asarray(vectors))
        return pids

    def remove(post_id: str) -> int:
        pid = remove_post(post_id)
        replica.post_status(pid, False)
        return pid

    def users(us: Sequence[User], *, keep_controls: bool = True) -> list[int]:
        uids = put_users(us, keep_controls=keep_controls)
        stored = [engine.accounts.profiles[u] for u in uids]  # as stored (controls kept)
        replica.users_changed(uids, stored)
        return uids

    def edge(e: Edge) -> None:
        put_edge(e)
        replica.edge_changed(engine.accounts.uid_of[e.src], engine.accounts.uid_of[e.dst], e.kind, True)

    def unedge(src: str, dst: str, kind: EdgeKind) -> bool:
        existed = delete_edge(src, dst, kind)
        replica.edge_changed(engine.accounts.uid_of[src], engine.accounts.uid_of[dst], kind, False)
        return existed

    def reported(r: Any) -> tuple[int, int, bool]:
        out = report(r)
        if out[2]:
            replica.post_status(out[1], False)
        return out

    pw.put, pw.remove, aw.put_users = put, remove, users
    aw.put_edge, aw.delete_edge, aw.report = edge, unedge, reported
    engine.event_writer._pop = _NoPopularity()  # popularity comes back from the event stream (module doc)
