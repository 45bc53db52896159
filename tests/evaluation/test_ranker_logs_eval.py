"""`reelrank eval --ranker-logs`: the current ranker's heads on impressions logged after its training data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reelrank.cli import app
from reelrank.evaluation.ranker_logs_eval import evaluate_logged
from reelrank.labels.labeller import HEADS
from reelrank.state.records.sqlite import SqliteRecordStore
from reelrank.training.ranker import RankerTrainConfig
from reelrank.training.ranker_logs import train_from_logs, training_data
from tests.conftest import make_settings
from tests.training.world import write_impressions

W = 1800.0


def test_held_out_is_what_the_version_never_trained_on(tmp_path: Path) -> None:
    s = make_settings(tmp_path / "data")
    s.data_dir.mkdir(parents=True)
    t0 = 1.7e9
    write_impressions(s.sqlite_path, 3500, seed=0, t0=t0)  # one impression a second from t0
    store = SqliteRecordStore(s.sqlite_path)
    try:
        # Trained when only the first 2,500 impressions' windows had closed.
        run = train_from_logs(store, s.data_dir, window_s=W, now=t0 + 2500 + W,
                              cfg=RankerTrainConfig(epochs=4, threads=1), progress=False)
        assert run.version == "v0001" and run.n_train + run.n_test == 2500
        first = evaluate_logged(store, s.data_dir, window_s=W, now=t0 + 2500 + W)
        assert first["n_held_out"] == run.n_test  # the later part of its own time split
        later = evaluate_logged(store, s.data_dir, window_s=W)  # ... and what was logged after it
        data, _ = training_data(store, s.data_dir, W)
    finally:
        store.close()
    assert later["n_held_out"] == run.n_test + 1000
    assert int((data.ts > later["train_end"]).sum()) == later["n_held_out"]
    m = later["metrics"]
    assert m["like"]["auc"] > 0.7 and m["skip"]["auc"] > 0.7  # the synthetic logs' signal is learnt
    for h in ("like", "skip"):
        bins = later["reliability"][h]
        assert sum(b["n"] for b in bins) == later["n_held_out"]
        # ECE is the size-weighted gap of these very bins
        gap = sum(b["n"] * abs(b["pred"] - b["rate"]) for b in bins) / later["n_held_out"]
        assert gap == pytest.approx(m[h]["ece"], abs=2e-3)


def test_cli_reports_every_head_and_refuses_without_a_ranker(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    s = make_settings(tmp_path / "data")
    s.data_dir.mkdir(parents=True)
    write_impressions(s.sqlite_path, 1500, seed=2)
    monkeypatch.setenv("REELRANK_ENCODER__KIND", "hashing")
    runner = CliRunner()
    args = ["eval", "--ranker-logs", "--data-dir", str(s.data_dir), "--out", str(tmp_path / "out")]
    refused = runner.invoke(app, args)
    assert refused.exit_code != 0 and "train one with" in refused.output
    store = SqliteRecordStore(s.sqlite_path)
    try:
        train_from_logs(store, s.data_dir, window_s=W, cfg=RankerTrainConfig(epochs=2, threads=1), progress=False)
    finally:
        store.close()
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert all(f"| {h} |" in ok.output for h in HEADS)
    saved = json.loads((tmp_path / "out" / "ranker_logs.json").read_text())  # strict JSON: no NaN
    assert saved["version"] == "v0001" and saved["n_held_out"] > 0
    assert np.isfinite(saved["metrics"]["like"]["auc"])
