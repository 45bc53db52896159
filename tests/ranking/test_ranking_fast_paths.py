"""The latency work on the learned stack keeps behaviour: the inline ranker, the vectorised feature
matrix and creator-affinity lookup, and the rates the formula scorer shares with the ranker features."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from reelrank.config import ControlSettings, RankingSettings, ScoreWeights
from reelrank.domain import EventKind
from reelrank.features.popularity import PopularityFeatures
from reelrank.features.post_counters import PostCounters
from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.pipeline.executor import Pipeline, PipelineExecutor
from reelrank.pipeline.trace import StageDegraded
from reelrank.ranking.formula_scorer import FormulaScorer
from reelrank.ranking.ranking_features import FEATURES, RATES, RankingFeaturesScorer, feature_matrix, lookup
from reelrank.ranking.ranking_stage import RankingStage
from tests.features.test_post_counters import batch
from tests.pipeline.test_executor import SAFE, FixedSource
from tests.ranking.test_freshness import ZeroVectors
from tests.ranking.test_ranking_stage import FixedHolder, bundle, cands, ctx, order
from tests.trends.helpers import NOW, make_rig, row


def inline_stage(deadline_ms: float = 10_000.0, **kw: object) -> RankingStage:
    b = bundle(**kw)  # type: ignore[arg-type]
    return RankingStage(FixedHolder(b), RankingSettings(prerank_k=3, deadline_ms=deadline_ms), ControlSettings())


def test_inline_is_the_default_and_orders_like_the_pool() -> None:
    assert RankingSettings().inline
    st = inline_stage()
    assert st._pool is None
    c = cands()
    st.score(ctx(), c)
    assert order(c)[:3] == [4, 5, 6]  # same as test_prerank_cuts_then_ranker_orders_the_survivors
    assert RankingStage(FixedHolder(None), RankingSettings(inline=False), ControlSettings())._pool is not None


def test_inline_late_result_is_served_and_reported() -> None:
    c = cands()
    with pytest.raises(StageDegraded) as got:
        inline_stage(deadline_ms=20, delay_s=0.05).score(ctx(), c)
    assert got.value.status == "late"
    assert order(c)[:3] == [4, 5, 6]  # the ranker's order, not the pre-rank one
    assert not np.isnan(c.columns["p:like"][3:]).any()


def test_inline_error_serves_prerank_order_and_the_executor_traces_late() -> None:
    c = cands()
    with pytest.raises(StageDegraded) as got:
        inline_stage(fail=True).score(ctx(), c)
    assert got.value.status == "error"
    assert order(c) == [6, 5, 4, 3, 2, 1]
    pipe = Pipeline("t", sources=[FixedSource("src", [1, 2, 3, 4, 5, 6])], filters=[], safety=SAFE,
                    scorers=[inline_stage(deadline_ms=10, delay_s=0.03)], selectors=[])
    with ThreadPoolExecutor(2) as pool:
        result = PipelineExecutor(pool).run(pipe, ctx())
    assert len(result.page) == 3
    assert "score:ranker:late" in result.trace.degraded


def test_feature_matrix_orders_columns_and_zeroes_nan_and_missing() -> None:
    sim, pop = FEATURES.index("similarity"), FEATURES.index("popularity")
    like = FEATURES.index("like_rate")
    cols = {"similarity": np.asarray([0.5, np.nan, 0.25], np.float32), "popularity": np.asarray([1.0, 2.0, 3.0]),
            "f:like_rate": np.asarray([0.1, 0.2, np.nan], np.float32)}
    x = feature_matrix(cols, 3)
    assert x.shape == (3, len(FEATURES)) and x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_array_equal(x[:, sim], [0.5, 0.0, 0.25])
    np.testing.assert_array_equal(x[:, pop], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(x[:, like], [0.1, 0.2, 0.0])
    others = np.delete(x, [sim, pop, like], axis=1)
    assert not others.any()


def test_lookup_matches_a_dict_get() -> None:
    values = {7: 1.5, 3: -2.0, 100: 0.25}
    keys = np.asarray([3, 4, 7, 100, 101, 0, 3], np.int64)
    np.testing.assert_array_equal(lookup(values, keys), [values.get(int(k), 0.0) for k in keys])
    assert lookup({}, keys).tolist() == [0.0] * len(keys)
    assert lookup(values, np.zeros(0, np.int64)).shape == (0,)


def test_formula_shares_the_rates_the_ranker_features_would_read() -> None:
    rig = make_rig()
    rig.catalogue.upsert([row(10, 500, ["cooking"], NOW - 60), row(11, 500, ["cooking"], NOW - 600)])
    counters = PostCounters(rig.state)
    counters.apply(batch(*[(11, EventKind.IMPRESSION, NOW, {})] * 20, *[(11, EventKind.LIKE, NOW, {})] * 5), NOW)
    feats = RankingFeaturesScorer(rig.catalogue, ["ann"], counters, None)
    got = {}
    for keep in (False, True):
        c = Candidates(np.asarray([10, 11, 1], np.int64), np.zeros(3, np.uint32))
        FormulaScorer(ZeroVectors(), PopularityFeatures(), rig.catalogue, ScoreWeights(), counters,
                      keep_rates=keep).score(ctx_at(NOW), c)
        assert ("f:like_rate" in c.columns) == keep
        feats.score(ctx_at(NOW), c)
        got[keep] = c.columns
    for name in (*RATES, "log_exposures"):
        np.testing.assert_array_equal(got[True][f"f:{name}"], got[False][f"f:{name}"])
    assert got[True]["f:like_rate"][1] > got[True]["f:like_rate"][0]


def ctx_at(now: float) -> FeedContext:
    return dataclasses.replace(ctx(), now=now)


class Vectors:
    def __init__(self, mat: np.ndarray) -> None:
        self.mat = mat
        self.asked: list[int] = []

    def vectors(self, pids: np.ndarray) -> np.ndarray:
        self.asked += pids.tolist()
        return self.mat[pids]


def test_formula_similarity_reuses_the_ann_scores_and_gathers_only_the_rest() -> None:
    rig = make_rig()
    rig.catalogue.upsert([row(p, 500, ["cooking"], NOW - 60) for p in (1, 2, 3)])
    rng = np.random.default_rng(0)
    mat = rng.normal(size=(4, 8)).astype(np.float32)
    query = rng.normal(size=8).astype(np.float32)
    c_ctx = dataclasses.replace(ctx_at(NOW), query=query)
    cols: dict[str | None, np.ndarray] = {}
    for q in (None, "src:0"):
        vec = Vectors(mat)
        c = Candidates(np.asarray([1, 2, 3], np.int64), np.zeros(3, np.uint32))
        c.columns["src:0"] = np.asarray([mat[1] @ query, np.nan, mat[3] @ query], np.float32)  # ANN proposed 1, 3
        FormulaScorer(vec, PopularityFeatures(), rig.catalogue, ScoreWeights(), query_scores=q).score(c_ctx, c)
        assert vec.asked == ([1, 2, 3] if q is None else [2])
        cols[q] = c.columns["similarity"]
    np.testing.assert_allclose(cols["src:0"], cols[None], rtol=1e-6)


def test_a_late_inline_result_is_bucketed_as_ranker() -> None:
    from reelrank.ranking.impressions import bucket_of

    pipe = Pipeline("t", sources=[FixedSource("src", [1, 2, 3, 4, 5, 6])], filters=[], safety=SAFE,
                    scorers=[inline_stage(deadline_ms=10, delay_s=0.03)], selectors=[])
    with ThreadPoolExecutor(2) as pool:
        assert bucket_of(PipelineExecutor(pool).run(pipe, ctx())) == "ranker"
