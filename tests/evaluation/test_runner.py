"""`reelrank eval` end to end on the one-topic world: every method reported, the learned ones best."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelrank.engine import Engine
from reelrank.evaluation.funnel import FunnelReplay
from reelrank.evaluation.runner import EvalOptions, run_eval
from tests.conftest import make_settings
from tests.training.test_two_tower_world import small_config
from tests.training.world import build_world


@pytest.mark.slow  # trains a model, replays the funnel per user, fits ALS (~15 s)
def test_eval_reports_retrieval_funnel_and_baselines(tmp_path: Path) -> None:
    e = Engine(make_settings(tmp_path / "data"))
    try:
        build_world(e, n_users=48, likes=16)
        report = run_eval(e, EvalOptions(cfg=small_config(epochs=20), out=tmp_path / "out", dataset="world",
                                         progress=False))
    finally:
        e.close()
    files = report.write(tmp_path / "out")
    assert {f.name for f in files} == {"results.md", "results.json", "results.png"}
    assert files[2].stat().st_size > 10_000
    rows = report.rows
    assert set(rows) == {"two-tower retrieval", "funnel (before page policy)", "most-popular",
                         "item-cooccurrence", "als (implicit)"}
    # every user likes one of four topics: the learned model beats popularity by a wide margin
    assert rows["two-tower retrieval"]["hr@10"] > rows["most-popular"]["hr@10"] + 0.15
    assert rows["funnel (before page policy)"]["hr@10"] >= rows["two-tower retrieval"]["hr@10"] - 0.1
    assert 0 < rows["two-tower retrieval"]["coverage@10"] <= 1
    assert rows["funnel (before page policy)"]["hr@100"] >= rows["two-tower retrieval"]["hr@100"] - 0.05
    assert report.notes["funnel"]["learned_weight"] in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


def test_funnel_replay_runs_the_two_tower_source_even_when_serving_has_models_off(tmp_path: Path) -> None:
    s = make_settings(tmp_path / "data")
    s.models.enabled = False  # as the CLI opens the store for evaluation
    e = Engine(s)
    try:
        names = FunnelReplay(e, e.index, 100).source_names()
    finally:
        e.close()
    assert "two_tower" in names and "ann" in names
