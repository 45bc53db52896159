from __future__ import annotations

from pathlib import Path

import numpy as np

from reelrank.domain import EventKind, User
from reelrank.labels.label_job import LabelJob
from reelrank.labels.label_store import LabelStore
from reelrank.labels.labeller import HEADS
from reelrank.ranking.ranking_features import FEATURES
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
        job = LabelJob(store, tmp_path / "labels", window_s=1800, on_health=sink, step_s=0)
        assert job.run_once(now=T + 2000) == 1
        shard = np.load(next((tmp_path / "labels").glob("examples-*.npz")))
        assert shard["x"].shape[0] == 1 and shard["y"][0, HEADS.index("share")] == 1
        assert sink.seen[-1]["stalled"] is False
        again = LabelJob(store, tmp_path / "labels", window_s=1800, step_s=0)
        assert again.labeller.watermark == T + 200  # resumed from the persisted watermark
    finally:
        store.close()


def labelled_store(tmp_path: Path, n: int = 6) -> SqliteRecordStore:
    """n impressions of user u1 one second apart from T, every other one liked."""
    store = SqliteRecordStore(tmp_path / "r.db")
    store.upsert_users([User(user_id="u1")])
    store.append_impressions([imp(f"p{i}", T + i, pos=i % 10) for i in range(n)])
    store.append_events([ev(EventKind.LIKE, f"p{i}", T + i + 5) for i in range(0, n, 2)])
    return store


def test_shards_tile_the_labelled_time_and_a_lost_watermark_write_loses_nothing(tmp_path: Path) -> None:
    store = labelled_store(tmp_path)
    folder = tmp_path / "labels"
    try:
        folder.mkdir()
        (folder / "watermark.json").write_text('{"watermark": %r}' % (T - 10))
        job = LabelJob(store, folder, window_s=100, step_s=0)
        assert job.run_once(now=T + 95) == 0  # no impression in [T - 10, T - 5): no shard, the watermark moves
        assert job.labeller.watermark == T - 5 and not LabelStore(folder).shards()
        assert job.run_once(now=T + 103) == 3  # impressions T .. T + 2
        (folder / "watermark.json").unlink()  # as if the process died between the shard and the watermark
        job = LabelJob(store, folder, window_s=100, step_s=0)
        assert job.labeller.watermark == T + 3  # resumed from the last shard's end
        assert job.run_once(now=T + 200) == 3
        shards = LabelStore(folder).shards()
        assert [(s.start, s.end) for s in shards] == [(T - 10, T + 3), (T + 3, T + 100)]  # no gap, no overlap
        got = LabelStore(folder).read(FEATURES)
        assert got is not None and (got.start, got.end, got.shards) == (T - 10, T + 100, 2)
        assert list(got.ts) == [T + i for i in range(6)]
        assert list(got.y[:, HEADS.index("like")]) == [1, 0, 1, 0, 1, 0]
        assert not list(folder.glob(".*tmp*"))  # written under temporary names, then renamed
    finally:
        store.close()


def test_jobs_sharing_a_folder_label_each_impression_once(tmp_path: Path) -> None:
    """Two workers on one data_dir: steps take the lock and resume from the watermark on disk."""
    store = labelled_store(tmp_path)
    folder = tmp_path / "labels"
    try:
        folder.mkdir()
        (folder / "watermark.json").write_text('{"watermark": %r}' % (T - 1))
        a, b = LabelJob(store, folder, window_s=100, step_s=0), LabelJob(store, folder, window_s=100, step_s=0)
        assert a.run_once(now=T + 102) == 2  # T, T + 1
        assert b.run_once(now=T + 102) == 0  # b starts where a left off
        with LabelStore(folder).exclusive() as mine:  # a third process is labelling right now
            assert mine
            assert b.run_once(now=T + 300) == 0
        assert b.run_once(now=T + 300) == 4
        assert a.run_once(now=T + 400) == 0
        got = LabelStore(folder).read(FEATURES)
        assert got is not None and list(got.ts) == [T + i for i in range(6)]
    finally:
        store.close()


def test_shards_with_other_features_or_damaged_are_not_read(tmp_path: Path) -> None:
    store = labelled_store(tmp_path)
    folder = tmp_path / "labels"
    try:
        folder.mkdir()
        (folder / "watermark.json").write_text('{"watermark": %r}' % (T - 1))
        LabelJob(store, folder, window_s=100, step_s=0).run_once(now=T + 200)
        assert LabelStore(folder).read(FEATURES) is not None
        assert LabelStore(folder).read((*FEATURES, "a_new_feature")) is None  # train by joining instead
        shard = LabelStore(folder).shards()[0].path
        shard.write_bytes(b"not an npz")
        assert LabelStore(folder).read(FEATURES) is None
    finally:
        store.close()


def test_steps_are_whole_minutes_and_a_call_inside_one_touches_nothing(tmp_path: Path) -> None:
    store = labelled_store(tmp_path)
    folder = tmp_path / "labels"
    try:
        folder.mkdir()
        (folder / "watermark.json").write_text('{"watermark": %r}' % (T - 100))
        job = LabelJob(store, folder, window_s=1800)  # default step: a minute
        assert job.step_s == 60
        assert job.run_once(now=T + 1870) == 6  # cutoff T + 70 rounds down to the minute, T + 40 (T % 60 == 20)
        assert job.labeller.watermark == T + 40 and (T + 40) % 60 == 0
        (folder / "watermark.json").unlink()
        assert job.run_once(now=T + 1890) == 0  # same minute: returns before looking at the folder
        assert not (folder / "watermark.json").exists()
        assert [s.end for s in LabelStore(folder).shards()] == [T + 40]
        assert LabelJob(store, folder, window_s=0.5).step_s == 0.5  # never longer than the window
    finally:
        store.close()
