from __future__ import annotations

import numpy as np
import pytest

from reelrank.config import RankingSettings, Settings
from reelrank.labels.labeller import HEADS
from reelrank.ranking.ranker_model import MMoERanker, MultiTaskRanker, RankerBundle, ranker_from_arrays
from reelrank.ranking.ranking_features import FEATURES
from reelrank.ranking.value_model import value_of
from tests.ranking.test_ranking_stage import F, bundle


def preds(**p: float) -> dict[str, np.ndarray]:
    return {h: np.array([p.get(h, 0.0)], np.float32) for h in (*HEADS, "watch")}


def test_value_defaults_rank_share_and_save_above_like_and_punish_negatives() -> None:
    w = RankingSettings().reels
    assert value_of(preds(share=0.1), w) > value_of(preds(like=0.1), w)
    assert value_of(preds(save=0.1), w) > value_of(preds(like=0.1), w)
    assert value_of(preds(like=0.5, not_interested=0.1), w) < value_of(preds(like=0.1), w)
    assert value_of(preds(like=0.9, report=0.1), w) < 0


def test_surface_weights_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELRANK_RANKING__EXPLORE__SHARE", "7")
    s = Settings()
    assert s.ranking.weights("explore").share == 7 and s.ranking.weights("reels").share == 3


def test_onnx_backend_matches_numpy() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from reelrank.ranking.onnx_ranker import with_onnx

    b = bundle()
    x = np.random.default_rng(0).normal(size=(64, F)).astype(np.float32)
    fast = with_onnx(b)
    assert fast.ranker is not b.ranker
    want, got = b.ranker.predict(x), fast.ranker.predict(x)
    for h in (*HEADS, "watch"):
        np.testing.assert_allclose(got[h], want[h], atol=1e-5)


def mmoe_bundle(seed: int = 0, experts: int = 3) -> RankerBundle:
    """An MMoE ranker with random weights (gates far from uniform), for backend equivalence."""
    rng = np.random.default_rng(seed)
    t, h1, h2 = len(HEADS) + 1, 8, 5

    def r(*shape: int) -> np.ndarray:
        return np.asarray(rng.normal(size=shape), dtype=np.float32)

    layers = [(r(experts, F, h1), r(experts, h1)), (r(experts, h1, h2), r(experts, h2))]
    ranker = MMoERanker(r(F), np.abs(r(F)) + 0.5, layers, 2 * r(F, t * experts), r(t * experts), r(t, h2), r(t))
    return RankerBundle("v0001", FEATURES, ranker, bundle().preranker)


def test_mmoe_numpy_is_the_gated_mixture_of_experts() -> None:
    b = mmoe_bundle()
    m = b.ranker
    assert isinstance(m, MMoERanker)
    x = np.random.default_rng(1).normal(size=(7, F)).astype(np.float32)
    z = (x - m.mean) / m.std
    want = np.zeros((7, len(HEADS) + 1))
    for n in range(7):  # one row, one task, one expert at a time: the textbook definition
        outs = []
        for e in range(m.n_experts):
            h = z[n]
            for w, bias in m.experts:
                h = np.maximum(h @ w[e] + bias[e], 0)
            outs.append(h)
        for t in range(len(HEADS) + 1):
            cols = slice(t * m.n_experts, (t + 1) * m.n_experts)
            g = z[n] @ m.gate_w[:, cols] + m.gate_b[cols]
            g = np.exp(g - g.max()) / np.exp(g - g.max()).sum()
            mix = sum(g[e] * outs[e] for e in range(m.n_experts))
            want[n, t] = 1 / (1 + np.exp(-(mix @ m.head_w[t] + m.head_b[t])))
    got = m.predict(x)
    for i, h in enumerate((*HEADS, "watch")):
        np.testing.assert_allclose(got[h], want[:, i], rtol=1e-4, atol=1e-6)


def test_onnx_backend_matches_numpy_for_mmoe() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from reelrank.ranking.onnx_ranker import with_onnx

    b = mmoe_bundle()
    x = np.random.default_rng(0).normal(size=(300, F)).astype(np.float32)
    fast = with_onnx(b)
    assert fast.ranker is not b.ranker
    want, got = b.ranker.predict(x), fast.ranker.predict(x)
    for h in (*HEADS, "watch"):
        np.testing.assert_allclose(got[h], want[h], atol=1e-5)


def test_artifacts_without_arch_load_as_shared_bottom() -> None:
    """Ranker versions written before MMoE existed have no `arch` entry: they stay loadable."""
    arrays = {k: v for k, v in bundle().arrays().items() if k != "arch"}
    assert isinstance(ranker_from_arrays(arrays), MultiTaskRanker)
    assert isinstance(ranker_from_arrays(mmoe_bundle().arrays()), MMoERanker)


@pytest.mark.parametrize("backend", ["numpy", "onnx"])
def test_ranking_stage_serves_an_mmoe_ranker(backend: str) -> None:
    from tests.ranking.test_ranking_stage import cands, ctx, stage

    b = mmoe_bundle()
    if backend == "onnx":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
        from reelrank.ranking.onnx_ranker import with_onnx

        b = with_onnx(b)
    c = cands()
    stage(b).score(ctx(), c)
    kept = ~np.isnan(c.columns["p:like"])
    assert kept.sum() == 3  # prerank_k
    want = b.ranker.predict(np.zeros((1, F), np.float32))  # shape check of the contract, any input
    assert set(want) == {*HEADS, "watch"}
    assert np.isfinite(c.columns["value"]).all() and np.isfinite(c.columns["score"]).all()
