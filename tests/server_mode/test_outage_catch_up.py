"""Replicas catch up on the changes made while Redis was unreachable (index/replica.py, replica_sync.py).

A change published during an outage never reaches the changes stream. Followers re-sync from the
record store after losing Redis themselves, and when the writer tells them ("resync" message) that
one of its publishes failed while they stayed connected.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import redis

from reelrank.config import Settings
from reelrank.domain import Edge, EdgeKind, Event, EventKind, Post, User
from reelrank.engine import Engine
from reelrank.serving.workers import build_engine
from tests.server_mode.redis_process import RedisProcess


def _wait(cond: Any, timeout: float = 10.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "condition not met in time"
        time.sleep(0.05)


def _world(a: Engine, b: Engine) -> None:
    a.account_writer.put_users([User(user_id="c"), User(user_id="v"), User(user_id="w")])
    a.post_writer.put([Post(post_id=f"p{i}", creator_id="c", caption=f"pasta recipe {i}") for i in range(6)])
    a.account_writer.put_edge(Edge(src="w", dst="c", kind=EdgeKind.FOLLOW))
    _wait(lambda: len(b.index) == 6 and "w" in b.accounts.uid_of
          and b.accounts.uid_of["c"] in b.graph.following(b.accounts.uid_of["w"]))


def _changes_while_cut_off(a: Engine) -> tuple[int, int]:
    """Through A: a new post, a removal, a follow, an unfollow and a new account. Returns the pids."""
    a.account_writer.put_users([User(user_id="x")])
    a.post_writer.put([Post(post_id="during", creator_id="c", caption="made during the outage")])
    a.post_writer.remove("p1")
    a.account_writer.put_edge(Edge(src="v", dst="c", kind=EdgeKind.FOLLOW))
    a.account_writer.delete_edge("w", "c", EdgeKind.FOLLOW)
    assert a.replica.publish_failures >= 5  # type: ignore[attr-defined]
    return a.catalogue.pid_of["during"], a.catalogue.pid_of["p1"]


def _caught_up(b: Engine, new: int, gone: int) -> bool:
    uid = b.accounts.uid_of
    return ("during" in b.catalogue.pid_of and new in b.index and gone not in b.index and "x" in uid
            and uid["c"] in b.graph.following(uid["v"]) and uid["c"] not in b.graph.following(uid["w"]))


def _same_search(a: Engine, b: Engine, pid: int) -> None:
    vec = a.index.vectors(np.asarray([pid]))  # (1, D)
    assert pid in np.asarray(b.index.search(vec, 3)[0]).ravel().tolist()
    assert not b.catalogue.active[a.catalogue.pid_of["p1"]]



def test_replicas_catch_up_after_a_redis_restart(server_settings: Settings, own_redis: RedisProcess) -> None:
    a = build_engine(server_settings, role="serve")
    b = build_engine(server_settings, role="serve")
    worker = build_engine(server_settings, role="worker")
    try:
        _world(a, b)
        own_redis.stop()  # both processes lose Redis; the restarted one comes back empty
        new, gone = _changes_while_cut_off(a)
        time.sleep(1.5)  # B's follower notices
        assert not _caught_up(b, new, gone)
        own_redis.start()
        _wait(lambda: _caught_up(b, new, gone))
        _same_search(a, b, new)
        assert b.replica.resyncs >= 1  # type: ignore[attr-defined]
        # and the changes stream works again both ways
        b.post_writer.put([Post(post_id="after", creator_id="c", caption="after the outage")])
        _wait(lambda: "after" in a.catalogue.pid_of and a.catalogue.pid_of["after"] in a.index)
        # the worker's consumer groups vanished with Redis's data: made again, and consuming
        a.event_writer.ingest([Event(event_id="e1", user_id="v", post_id="p2", kind=EventKind.LIKE, ts=time.time())])
        _wait(lambda: all(c.applied >= 1 for c in worker.realtime.consumers))
    finally:
        worker.close()
        a.close()
        b.close()


def test_a_failed_publish_makes_connected_replicas_resync(server_settings: Settings) -> None:
    """Only the writer lost Redis (a partition, a failover): B never saw an error, A tells it."""
    a = build_engine(server_settings, role="serve")
    b = build_engine(server_settings, role="serve")
    try:
        _world(a, b)
        replica = a.replica  # type: ignore[attr-defined]
        real = replica._r

        class CutOff:
            def __getattr__(self, name: str) -> Any:
                if name == "xadd":
                    raise redis.ConnectionError("cut off")
                return getattr(real, name)

        replica._r = CutOff()
        try:
            new, gone = _changes_while_cut_off(a)
        finally:
            replica._r = real
        _wait(lambda: _caught_up(b, new, gone))  # A's follower publishes "resync" once Redis answers
        _same_search(a, b, new)
        assert b.replica.resyncs == 1 and a.replica.resyncs == 0  # type: ignore[attr-defined]
    finally:
        a.close()
        b.close()
