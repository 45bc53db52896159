"""Data-parallel training with DistributedDataParallel (gloo).

Fast: the two-tower forward is the two towers; on a one-rank process group the DDP-wrapped trainers
run the reducer every step and give exactly the single-process result. Slow (torchrun, 2 ranks): both
ranks wrap their model in DDP, end with identical weights, and reach the quality of one process;
rank 0 alone publishes the model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from reelrank.config import Settings
from reelrank.engine import Engine
from reelrank.evaluation.split import holdout_last
from reelrank.labels.labeller import HEADS
from reelrank.models.config import TwoTowerConfig
from reelrank.models.registry import ModelRegistry
from reelrank.ranking.ranking_stage import RankerHolder
from reelrank.state.records.sqlite import SqliteRecordStore
from reelrank.training.dataset import LogData, load_log_data
from reelrank.training.distributed import fit_distributed, parse_args
from reelrank.training.ranker import RankerTrainConfig, train_ranker
from reelrank.training.ranker_logs import train_from_logs
from tests.conftest import make_settings
from tests.ranking.test_ranker_training import synthetic
from tests.training.world import build_world, write_impressions

CONFIG: dict[str, Any] = {"dim": 32, "max_len": 32, "layers": 1, "epochs": 12, "batch_size": 32,
                          "in_batch_negatives": 32, "uniform_negatives": 32, "patience": 0, "lr": 5e-3, "threads": 1}


@pytest.fixture
def world(tmp_path: Path) -> tuple[Settings, LogData]:
    s = make_settings(tmp_path / "data")
    with Engine(s) as e:
        build_world(e)
        data = load_log_data(e.records, s.encoder.dim, progress=False)
    return s, data


@pytest.fixture
def one_rank(tmp_path: Path) -> Iterator[None]:
    """A gloo process group of one rank in this process."""
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_forward_is_the_two_towers(world: tuple[Settings, LogData]) -> None:
    from reelrank.training.batches import iterate_batches
    from reelrank.training.retrieval import fit_on

    _, data = world
    train, valid = holdout_last(data.seqs)
    trainer, *_ = fit_on(data, TwoTowerConfig(**{**CONFIG, "epochs": 0}), train, valid, progress=False)
    b = next(iter(iterate_batches(trainer.windows, 8, np.random.default_rng(0))))
    m = trainer.model.eval()
    pids = torch.from_numpy(b.in_pids)
    uniq, inv = torch.unique(pids, return_inverse=True)
    users = {k: v[torch.from_numpy(b.uids)] for k, v in trainer.user_t.items()}
    kinds, valid_t = torch.from_numpy(b.in_kinds), torch.from_numpy(b.valid)
    with torch.no_grad():
        out = m({k: v[uniq] for k, v in trainer.item_t.items()}, users, inv, kinds, valid_t)
        items = m.items({k: v[pids.flatten()] for k, v in trainer.item_t.items()}).view(*pids.shape, -1)
        want = m.users(users, items, kinds, valid_t)
    torch.testing.assert_close(out.users, want)
    torch.testing.assert_close(out.items[inv], items)
    assert float(out.temperature.detach()) == float(m.temperature.detach())


def count_reducer_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every model training/ddp.py wraps gets a comm hook that records each bucket DDP all-reduces."""
    import reelrank.training.ddp as ddp

    calls: list[int] = []

    def counting_allreduce(state, bucket):  # no annotations: DDP rejects string ones
        calls.append(bucket.index())
        fut = dist.all_reduce(bucket.buffer(), async_op=True).get_future()
        return fut.then(lambda f: f.value()[0])

    wrap = ddp.wrap

    def wrap_and_count(model: torch.nn.Module) -> DistributedDataParallel:
        net = wrap(model)
        net.register_comm_hook(None, counting_allreduce)
        return net

    monkeypatch.setattr(ddp, "wrap", wrap_and_count)
    return calls


def test_one_rank_two_tower_runs_the_reducer_and_matches_one_process(world: tuple[Settings, LogData], one_rank: None,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from reelrank.training.retrieval import fit_on

    _, data = world
    train, valid = holdout_last(data.seqs)
    cfg = {**CONFIG, "epochs": 2}
    _, single, _, _ = fit_on(data, TwoTowerConfig(**cfg), train, valid, progress=False)

    calls = count_reducer_calls(monkeypatch)
    trainer, res = fit_distributed(data, TwoTowerConfig(**cfg), train, valid)
    assert isinstance(trainer.net, DistributedDataParallel) and trainer.net.module is trainer.model
    steps = 2 * -(-len(trainer.windows) // trainer.cfg.batch_size)
    assert calls.count(0) == steps  # the reducer all-reduced the gradients at every step
    assert [h["loss"] for h in res.history] == [h["loss"] for h in single.history]
    assert res.best_valid == single.best_valid


def test_one_rank_ranker_runs_the_reducer_and_matches_one_process(one_rank: None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    train = synthetic(2000, 0)
    cfg = RankerTrainConfig(epochs=2, threads=1)
    single = train_ranker(train, cfg, progress=False)
    calls = count_reducer_calls(monkeypatch)
    ddp = train_ranker(train, cfg, progress=False, ddp=True)
    assert calls.count(0) == 2 * -(-len(train) // cfg.batch)  # an all-reduce at every step of both epochs
    a, b = single.ranker.predict(train.x[:100]), ddp.ranker.predict(train.x[:100])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_task_defaults_to_retrieval() -> None:
    args = parse_args(["--data-dir", "d"])
    assert (args.task, args.export, args.activate) == ("retrieval", False, True)
    assert parse_args(["retrieval", "--data-dir", "d", "--export", "--no-activate"]).activate is False
    args = parse_args(["ranker", "--data-dir", "d", "--epochs", "3", "--no-activate"])
    assert (args.task, args.epochs, args.activate) == ("ranker", 3, False)


def torchrun(*args: str) -> dict[str, Any]:
    out = Path(args[args.index("--data-dir") + 1]).parent / "ddp.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "REELRANK_ENCODER__KIND": "hashing"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "reelrank.training.distributed", *args, "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary: dict[str, Any] = json.loads(out.read_text())
    assert summary["world"] == 2
    reps = summary["replicas"]
    assert [r["rank"] for r in reps] == [0, 1]
    assert all(r["ddp"] for r in reps)  # every rank wrapped its model in DistributedDataParallel
    assert reps[0]["weights"] == reps[1]["weights"]  # different shards, same weights: gradients were synced
    return summary


@pytest.mark.slow
def test_two_processes_match_one(world: tuple[Settings, LogData]) -> None:
    from reelrank.training.retrieval import fit_on

    s, data = world
    train, valid = holdout_last(data.seqs)
    _, single, _, _ = fit_on(data, TwoTowerConfig(**CONFIG), train, valid, progress=False)
    ddp = torchrun("retrieval", "--data-dir", str(s.data_dir), "--config", json.dumps(CONFIG), "--export")
    assert {r["ddp"][0] for r in ddp["replicas"]} == {"TwoTowerModel"}
    registry = ModelRegistry.for_data_dir(s.data_dir)  # rank 0 published the model, once
    assert registry.versions() == [ddp["version"]] and registry.current() == ddp["version"]
    one, two = single.best_valid, ddp["valid"]
    print("two-tower valid: 1 process", one, "2 ranks", two)
    assert two["ndcg@10"] >= one["ndcg@10"] - 0.1, (one, two)
    assert ddp["history"][-1]["loss"] < ddp["history"][0]["loss"]


@pytest.mark.slow
def test_two_process_ranker_matches_one(tmp_path: Path) -> None:
    s = make_settings(tmp_path / "data")
    s.data_dir.mkdir(parents=True)
    write_impressions(s.sqlite_path, 6000)
    store = SqliteRecordStore(s.sqlite_path)
    try:
        single = train_from_logs(store, s.data_dir, cfg=RankerTrainConfig(epochs=4, threads=1), activate=False,
                                 progress=False).metrics
    finally:
        store.close()
    ddp = torchrun("ranker", "--data-dir", str(s.data_dir), "--epochs", "4")
    heads = ("like", "skip")
    print("ranker AUC: 1 process", {h: single[h]["auc"] for h in heads}, "2 ranks", {h: ddp[h]["auc"] for h in heads})
    for h in heads:
        assert ddp[h]["auc"] > 0.75 and ddp[h]["auc"] >= single[h]["auc"] - 0.02, (h, single[h], ddp[h])
    loaded = RankerHolder(s.data_dir).get()  # rank 0 published the bundle, once
    assert loaded is not None and loaded.version == ddp["version"] == "v0001"
    assert set(HEADS) <= set(ddp)
