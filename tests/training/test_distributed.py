"""Two-tower training under `torchrun --nproc_per_node 2` (gloo, averaged gradients) reaches the quality of
one process on the same data (slow: CI runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reelrank.engine import Engine
from reelrank.evaluation.split import holdout_last
from reelrank.training.dataset import load_log_data
from reelrank.training.retrieval import fit_on
from tests.conftest import make_settings
from tests.training.world import build_world

pytestmark = pytest.mark.slow
CONFIG = {"dim": 32, "max_len": 32, "layers": 1, "epochs": 12, "batch_size": 32, "in_batch_negatives": 32,
          "uniform_negatives": 32, "patience": 0, "lr": 5e-3, "threads": 1}


def test_two_processes_match_one(tmp_path: Path) -> None:
    from reelrank.models.config import TwoTowerConfig

    s = make_settings(tmp_path / "data")
    with Engine(s) as e:
        build_world(e)
        data = load_log_data(e.records, s.encoder.dim, progress=False)
    train, valid = holdout_last(data.seqs)
    _, single, _, _ = fit_on(data, TwoTowerConfig(**CONFIG), train, valid, progress=False)

    out = tmp_path / "ddp.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "REELRANK_ENCODER__KIND": "hashing"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                           "2", "-m", "reelrank.training.distributed", "--data-dir", str(s.data_dir), "--out",
                           str(out), "--config", json.dumps(CONFIG)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = json.loads(out.read_text())
    assert ddp["world"] == 2
    one, two = single.best_valid, ddp["valid"]
    print("single", one, "ddp", two)
    assert two["ndcg@10"] >= one["ndcg@10"] - 0.1, (one, two)
    assert ddp["history"][-1]["loss"] < ddp["history"][0]["loss"]
