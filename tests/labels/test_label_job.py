from __future__ import annotations

from pathlib import Path

import numpy as np

from reelrank.domain import EventKind, User
from reelrank.labels.label_job import LabelJob
from reelrank.labels.labeller import HEADS
from reelrank.state.records.sqlite import SqliteRecordStore
from tests.labels.test_labeller import T, ev, imp


class Sink:
    def __init__(self) -> None:
        self.seen: list[dict[str, float | bool]] = []

    def __call__(self, h: dict[str, float | bool]) -> None:
        self.seen.append(h)


def test_job_writes_shards_persists_watermark_and_reports_health(tmp_path: Path) -> None:
    store = SqliteRecordStore(tmp_path / "r.db")
    try:
        store.upsert_users([User(user_id="u1")])
        store.append_impressions([imp("a", T, pos=2)])
        store.append_events([ev(EventKind.SHARE, "a", T + 10)])
        (tmp_path / "labels").mkdir()
        (tmp_path / "labels" / "watermark.json").write_text('{"watermark": %r}' % (T - 1))
        sink = Sink()
        job = LabelJob(store, tmp_path / "labels", window_s=1800, on_health=sink)
        assert job.run_once(now=T + 2000) == 1
        shard = np.load(next((tmp_path / "labels").glob("examples-*.npz")))
        assert shard["x"].shape[0] == 1 and shard["y"][0, HEADS.index("share")] == 1
        assert sink.seen[-1]["stalled"] is False
        again = LabelJob(store, tmp_path / "labels", window_s=1800)
        assert again.labeller.watermark == T + 200  # resumed from the persisted watermark
    finally:
        store.close()
