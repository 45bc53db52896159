"""`reelrank train ranker` trains from the label job's stored shards, joining on the fly only what they do
not cover (or everything, with --labels join)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reelrank.cli import app
from reelrank.domain import EventKind, User
from reelrank.labels.label_job import LabelJob
from reelrank.labels.labeller import HEADS
from reelrank.state.records.sqlite import SqliteRecordStore
from reelrank.training.ranker import RankerTrainConfig
from reelrank.training.ranker_logs import train_from_logs, training_data
from tests.labels.test_labeller import T, ev, imp

LIKE = HEADS.index("like")
W = 100.0  # attribution window


def logs(data_dir: Path) -> SqliteRecordStore:
    """Impressions at T - 50 .. T - 46 (before the label job began at T - 1), T .. T + 149 (labelled by the
    job), T + 400 .. T + 404 (after its last step); every third one liked within its window."""
    data_dir.mkdir(parents=True)
    store = SqliteRecordStore(data_dir / "reelrank.sqlite3")
    store.upsert_users([User(user_id="u1")])
    times = [T - 50 + i for i in range(5)] + [T + i for i in range(150)] + [T + 400 + i for i in range(5)]
    store.append_impressions([imp(f"p{i}", t, pos=i % 10) for i, t in enumerate(times)])
    store.append_events([ev(EventKind.LIKE, f"p{i}", t + 5) for i, t in enumerate(times) if i % 3 == 0])
    (data_dir / "labels").mkdir()
    (data_dir / "labels" / "watermark.json").write_text(json.dumps({"watermark": T - 1}))
    job = LabelJob(store, data_dir / "labels", window_s=W, step_s=0)
    job.run_once(now=T + 100 + W)
    job.run_once(now=T + 150 + W)  # two shards: [T - 1, T + 100), [T + 100, T + 150)
    # A like that reaches the store after the job labelled p7 (a client that was offline): joining now sees
    # it, the stored label does not. It tells which source an example came from.
    store.append_events([ev(EventKind.LIKE, "p7", T + 2 + 30)])
    return store


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_auto_reads_the_shards_and_joins_only_the_uncovered_ranges(tmp_path: Path) -> None:
    store = logs(tmp_path / "data")
    try:
        now = T + 1000 + W
        data, info = training_data(store, tmp_path / "data", W, now=now)
        assert info == {"source": "stored+join", "stored": 150, "joined": 10, "shards": 2,
                        "stored_range": [T - 1, T + 150]}
        assert sorted(data.ts) == sorted([T - 50 + i for i in range(5)] + [T + i for i in range(150)]
                                         + [T + 400 + i for i in range(5)])
        p7 = list(data.ts).index(T + 2)
        assert data.y[p7, LIKE] == 0  # the stored label (the late like came after the job's step)
        stored, info = training_data(store, tmp_path / "data", W, now=now, labels="stored")
        assert info["source"] == "stored" and len(stored) == 150
        joined, info = training_data(store, tmp_path / "data", W, now=now, labels="join")
        assert info == {"source": "join", "stored": 0, "joined": 160}
        assert joined.y[list(joined.ts).index(T + 2), LIKE] == 1
        # Apart from the late like, stored and joined labels agree impression for impression.
        same = {float(t): tuple(y) for t, y in zip(joined.ts, joined.y, strict=True)}
        diff = [t for t, y in zip(data.ts, data.y, strict=True) if same[float(t)] != tuple(y)]
        assert diff == [T + 2]
        run = train_from_logs(store, tmp_path / "data", window_s=W, now=now, labels="stored", activate=False,
                              cfg=RankerTrainConfig(epochs=1, threads=1), progress=False)
        assert run.labels["source"] == "stored" and run.n_train + run.n_test == 150
    finally:
        store.close()


def test_without_shards_auto_joins_and_stored_is_an_error(tmp_path: Path) -> None:
    store = logs(tmp_path / "data")
    try:
        for shard in (tmp_path / "data" / "labels").glob("examples-*.npz"):
            shard.unlink()
        data, info = training_data(store, tmp_path / "data", W, now=T + 1000 + W)
        assert info["source"] == "join" and len(data) == 160
        with pytest.raises(ValueError, match="no stored labels"):
            training_data(store, tmp_path / "data", W, now=T + 1000 + W, labels="stored")
    finally:
        store.close()


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # constant features here
def test_cli_trains_from_stored_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs(tmp_path / "data").close()
    monkeypatch.setenv("REELRANK_DATA_DIR", str(tmp_path / "data"))
    res = CliRunner().invoke(app, ["train", "ranker", "--labels", "stored", "--window-s", str(W), "--epochs", "1",
                                   "--threads", "1", "--arch", "mmoe", "--no-activate"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{"):])
    assert out["arch"] == "mmoe" and out["labels"]["source"] == "stored" and out["n_train"] + out["n_test"] == 150
    bad = CliRunner().invoke(app, ["train", "ranker", "--labels", "nope"])
    assert bad.exit_code != 0
