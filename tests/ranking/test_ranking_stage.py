"""The learned ranking stage: pre-rank cut, rank by value, degrade to pre-rank order, no-op without a model."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from reelrank.config import ControlSettings, RankingSettings
from reelrank.domain import Surface, User
from reelrank.labels.labeller import HEADS
from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.pipeline.executor import Pipeline, PipelineExecutor
from reelrank.pipeline.trace import StageDegraded
from reelrank.ranking.ranker_model import MultiTaskRanker, PreRanker, RankerBundle
from reelrank.ranking.ranking_features import FEATURES
from reelrank.ranking.ranking_stage import RankerHolder, RankingStage
from tests.pipeline.test_executor import SAFE, FixedSource

F = len(FEATURES)
SIM, POP = FEATURES.index("similarity"), FEATURES.index("popularity")


def bundle(delay_s: float = 0.0, fail: bool = False) -> RankerBundle:
    """The ranker likes similarity (every positive head rises with it); the pre-ranker likes popularity."""
    w = np.zeros((F, 1), np.float32)
    w[SIM, 0] = 1.0
    head_w = np.zeros((1, len(HEADS) + 1), np.float32)
    head_w[0, : len(HEADS)] = [1.0 if h not in ("skip", "not_interested", "report") else -1.0 for h in HEADS]
    ranker = MultiTaskRanker(np.zeros(F, np.float32), np.ones(F, np.float32), [(w, np.zeros(1, np.float32))],
                             head_w, np.zeros(len(HEADS) + 1, np.float32))
    if delay_s or fail:
        real = ranker.predict

        class Slow(MultiTaskRanker):
            def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
                if fail:
                    raise RuntimeError("broken model")
                time.sleep(delay_s)
                return real(x)

        ranker = Slow(ranker.mean, ranker.std, ranker.layers, ranker.head_w, ranker.head_b)
    pw = np.zeros(F, np.float32)
    pw[POP] = 1.0
    return RankerBundle("v0007", FEATURES, ranker, PreRanker(np.zeros(F, np.float32), np.ones(F, np.float32), pw, 0.0))


class FixedHolder(RankerHolder):
    def __init__(self, b: RankerBundle | None) -> None:
        self.bundle = b

    def get(self) -> RankerBundle | None:
        return self.bundle


def ctx() -> FeedContext:
    return FeedContext(uid=1, user=User(user_id="v"), surface=Surface.REELS, page_size=3, now=1e9, session_id="s",
                       query=None, session=[], following=set(), hidden_creators=set(),
                       seen=np.zeros(0, dtype=np.int64), served=np.zeros(0, dtype=np.int64))


def cands() -> Candidates:
    # pids 1..6: popularity rises with pid, similarity falls with it
    c = Candidates(np.arange(1, 7, dtype=np.int64), np.zeros(6, dtype=np.uint32))
    c.columns.update(popularity=np.linspace(0.1, 0.6, 6).astype(np.float32),
                     similarity=np.linspace(0.9, 0.4, 6).astype(np.float32),
                     score=np.zeros(6, np.float32))
    return c


def stage(b: RankerBundle | None, deadline_ms: float = 200.0) -> RankingStage:
    return RankingStage(FixedHolder(b), RankingSettings(prerank_k=3, deadline_ms=deadline_ms), ControlSettings(),
                        ThreadPoolExecutor(1))


def order(c: Candidates) -> list[int]:
    return [int(p) for p in c.pids[np.argsort(-c.columns["score"], kind="stable")]]


def test_prerank_cuts_then_ranker_orders_the_survivors() -> None:
    c = cands()
    stage(bundle()).score(ctx(), c)
    # pre-rank keeps the 3 most popular (4, 5, 6); the ranker orders them by similarity; the rest follow
    assert order(c)[:3] == [4, 5, 6]
    assert set(order(c)[3:]) == {1, 2, 3}
    assert np.isnan(c.columns["p:like"][:3]).all() and (c.columns["p:like"][3:] > 0.5).all()
    assert c.columns["ranker_version"][0] == 7


def test_no_model_leaves_the_formula_order() -> None:
    c = cands()
    before = {k: v.copy() for k, v in c.columns.items()}
    stage(None).score(ctx(), c)
    assert c.columns.keys() == before.keys()
    assert all(np.array_equal(c.columns[k], before[k]) for k in before)


@pytest.mark.parametrize(("kw", "status"), [({"delay_s": 0.3}, "timeout"), ({"fail": True}, "error")])
def test_ranker_timeout_or_error_serves_prerank_order(kw: dict[str, object], status: str) -> None:
    c = cands()
    with pytest.raises(StageDegraded) as got:
        stage(bundle(**kw), deadline_ms=50).score(ctx(), c)  # type: ignore[arg-type]
    assert got.value.status == status
    assert order(c) == [6, 5, 4, 3, 2, 1]  # pre-rank (popularity) order


def test_executor_serves_the_page_and_traces_degradation() -> None:
    pipe = Pipeline("t", sources=[FixedSource("src", [1, 2, 3, 4, 5, 6])], filters=[], safety=SAFE,
                    scorers=[stage(bundle(delay_s=0.3), deadline_ms=20)], selectors=[])
    with ThreadPoolExecutor(2) as pool:
        result = PipelineExecutor(pool).run(pipe, ctx())
    assert len(result.page) == 3
    assert "score:ranker:timeout" in result.trace.degraded
    assert any(s.name == "ranker" and s.status == "timeout" for s in result.trace.stages)


def test_holder_without_a_model_dir(tmp_path: Path) -> None:
    assert RankerHolder(tmp_path).get() is None
