"""Through the engine: served pages log impressions; a ranker trained on simulated logs serves pages."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reelrank.engine import Engine
from reelrank.serving.app import create_app
from reelrank.simulation.population import load_world, run_population
from reelrank.simulation.world import WorldConfig, generate_world
from reelrank.state.records.sqlite import SqliteRecordStore
from reelrank.training.ranker import RankerTrainConfig
from reelrank.training.ranker_logs import labelled_examples, train_from_logs
from tests.conftest import make_settings
from tests.serving.helpers import feed, post, user


def test_served_pages_log_impressions_with_sources_and_scores(tmp_path: Path) -> None:
    s = make_settings(tmp_path / "data")
    engine = Engine(s)
    with TestClient(create_app(engine)) as client:
        user(client, "chef")
        user(client, "viewer", interests=["cooking"])
        for i in range(12):
            post(client, f"p{i}", "chef")
        page = feed(client, "viewer", surface="reels", page_size=5)
        health = client.get("/healthz").json()
        assert health["labeller"]["stalled"] is False and health["impressions"]["dropped"] == 0
    engine.close()  # flushes the impression buffer
    store = SqliteRecordStore(s.sqlite_path)
    try:
        got = [r for b in store.scan_impressions() for r in b]
    finally:
        store.close()
    assert [r.post_id for r in got] == [it["post_id"] for it in page["items"]]
    assert [r.position for r in got] == list(range(len(page["items"])))
    assert all(r.request_id == page["request_id"] and r.user_id == "viewer" and r.surface == "reels" for r in got)
    assert all(r.sources for r in got) and all("score" in r.scores for r in got)
    assert {r.bucket for r in got} == {"formula"}  # no ranker model yet


@pytest.mark.slow
def test_ranker_trained_on_simulated_logs_serves_pages(tmp_path: Path) -> None:
    world = generate_world(WorldConfig(n_users=80, n_creators=30, n_posts=800, seed=3))
    s = make_settings(tmp_path / "data")
    engine = Engine(s)
    with TestClient(create_app(engine)) as client:
        load_world(client, world, progress=False)
        run_population(client, world, n_users=40, sessions=2, pages=4, seed=1)
    engine.close()
    store = SqliteRecordStore(s.sqlite_path)
    try:
        examples = labelled_examples(store, 1800.0, now=time.time() + 86400)
        assert len(examples) >= 300 and sum(e.labels["like"] for e in examples) > 0
        run = train_from_logs(store, s.data_dir, now=time.time() + 86400, cfg=RankerTrainConfig(epochs=3),
                              progress=False)
    finally:
        store.close()
    assert run.version == "v0001"
    assert run.metrics["skip"]["auc"] > 0.6 and run.metrics["like"]["auc"] > 0.6
    engine = Engine(s)
    with TestClient(create_app(engine)) as client:
        page = feed(client, world.viewers[0].user_id, surface="reels", explain=True)
    engine.close()
    stages = {st["name"]: st for st in page["trace"]["stages"]}
    assert stages["ranker"]["status"] == "ok" and page["items"]
    assert page["trace"]["degraded"] == [] or all("ranker" not in d for d in page["trace"]["degraded"])
