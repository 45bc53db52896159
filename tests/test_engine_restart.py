"""A restart rebuilds everything from the store and the snapshot, without re-encoding the catalogue."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reelrank.content.encoder import HashingEncoder
from reelrank.domain import Event, EventKind, FeedRequest, Post, User
from reelrank.engine import Engine
from tests.conftest import make_settings


class CountingEncoder(HashingEncoder):
    def __init__(self) -> None:
        super().__init__(dim=384)
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        return super().encode(texts)


def posts(start: int, n: int) -> list[Post]:
    return [Post(post_id=f"p{i}", creator_id="c", caption=f"pasta recipe number {i}", topics=["cooking"])
            for i in range(start, start + n)]


def test_restart_keeps_everything_and_does_not_reencode(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = Engine(settings, encoder=CountingEncoder())
    first.account_writer.put_users([User(user_id="c"), User(user_id="v")])
    first.post_writer.put(posts(0, 30))
    first.snapshot()
    first.post_writer.put(posts(30, 10))  # after the snapshot: must come back from stored vectors
    first.post_writer.remove("p3")
    first.event_writer.ingest([Event(event_id="e1", user_id="v", post_id="p5", kind=EventKind.LIKE)])
    first.records.close()  # a crash: no final snapshot

    enc = CountingEncoder()
    second = Engine(settings, encoder=enc)
    try:
        assert enc.calls == 0
        assert len(second.catalogue) == 40 and len(second.index) == 39
        assert "p3" not in {second.catalogue.post_ids[int(p)] for p in second.index.search(
            second.index.vectors(np.array([second.catalogue.pid_of["p3"]]))[0], 40)[0]}
        # online state was rebuilt from the event log: p5 counts as seen, the user has an interest vector
        uid = second.accounts.uid_of["v"]
        assert second.catalogue.pid_of["p5"] in second.seen.seen(uid, now=time.time()).tolist()
        assert second.interest.long_term(uid) is not None
        page, _ = second.feed_service.feed(FeedRequest(user_id="v", page_size=5, surface="explore"))
        assert page.items and "p5" not in {i["post_id"] for i in page.items}
    finally:
        second.close()


def test_a_failing_maintenance_task_does_not_stop_the_snapshots(tmp_path: Path) -> None:
    """Labelling that keeps failing (say, a full disk) must not starve the periodic index snapshot."""
    s = make_settings(tmp_path / "data")
    s.index.snapshot_every_s = 0.01
    engine = Engine(s)
    try:
        engine.account_writer.put_users([User(user_id="c")])
        engine.post_writer.put(posts(0, 5))

        def broken() -> None:
            raise OSError("no space left on device")

        class Labels:
            run_once = staticmethod(broken)

        engine.labels = Labels()  # type: ignore[assignment]
        engine._last_snapshot = 0.0
        engine.start_maintenance(every_s=0.02)
        deadline = time.monotonic() + 10
        while engine._last_snapshot == 0.0:
            assert time.monotonic() < deadline, "no snapshot while the label task failed"
            time.sleep(0.02)
    finally:
        engine.close()
