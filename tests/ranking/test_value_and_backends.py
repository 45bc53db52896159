from __future__ import annotations

import numpy as np
import pytest

from reelrank.config import RankingSettings, Settings
from reelrank.labels.labeller import HEADS
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
