"""Trained on a world where each viewer likes one topic, the two-tower model retrieves that topic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from reelrank.config import Settings
from reelrank.engine import Engine
from reelrank.evaluation.split import holdout_last
from reelrank.models.config import TwoTowerConfig
from reelrank.training.dataset import load_log_data
from reelrank.training.retrieval import fit_on
from tests.conftest import make_settings
from tests.training.world import TOPICS, build_world, topic_of_user


def small_config(**kw: object) -> TwoTowerConfig:
    cfg = TwoTowerConfig(dim=32, max_len=32, layers=1, epochs=8, batch_size=16, in_batch_negatives=32,
                         uniform_negatives=32, patience=0, lr=5e-3, threads=1)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


@pytest.fixture
def world_engine(tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    s = make_settings(tmp_path / "data")
    e = Engine(s)
    build_world(e)
    yield e, s
    e.close()


def test_training_examples_come_from_the_stored_events(world_engine: tuple[Engine, Settings]) -> None:
    e, s = world_engine
    data = load_log_data(e.records, s.encoder.dim, progress=False)
    uid = e.accounts.uid_of["viewer0"]
    t = data.seqs[uid]
    assert len(t) == 14 + 4  # likes + skips, in time order
    assert (t.weights > 0).sum() == 14 and (t.weights < 0).sum() == 4
    topics = {data.topics[p][0] for p in t.pids[t.weights > 0]}
    assert topics == {topic_of_user(0)}


@pytest.mark.slow  # ~10 s on a busy 2-core machine
def test_model_retrieves_the_topic_each_user_likes(world_engine: tuple[Engine, Settings]) -> None:
    e, s = world_engine
    data = load_log_data(e.records, s.encoder.dim, progress=False)
    train, valid = holdout_last(data.seqs)
    trainer, result, _, _ = fit_on(data, small_config(epochs=20), train, valid, progress=False)
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    items = trainer.item_vectors()  # (P, D)
    users = trainer.user_vectors(valid, items)  # (C, D)
    live = np.flatnonzero(data.active)
    hits = []
    for c, u in zip(valid, users, strict=True):
        scores = items[live] @ u
        top = live[np.argsort(-scores)[:10]]
        want = topic_of_user(int(data.users[c.uid].user_id.removeprefix("viewer")))
        hits.append(np.mean([data.topics[p][0] == want for p in top]))
    assert np.mean(hits) > 0.9  # chance is 1 / len(TOPICS)
    assert len(TOPICS) == 4


def test_training_is_deterministic_for_a_seed(world_engine: tuple[Engine, Settings]) -> None:
    e, s = world_engine
    data = load_log_data(e.records, s.encoder.dim, progress=False)
    train, valid = holdout_last(data.seqs)
    runs = [fit_on(data, small_config(epochs=2), train, valid, progress=False)[1] for _ in range(2)]
    assert [h["loss"] for h in runs[0].history] == [h["loss"] for h in runs[1].history]
