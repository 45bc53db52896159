"""The multi-task ranker (shared-bottom and MMoE) learns head-specific signals, is calibrated, and
round-trips through the registry (numpy and onnxruntime serving backends)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from reelrank.labels.labeller import HEADS
from reelrank.ranking.ranker_model import MMoERanker, MultiTaskRanker
from reelrank.ranking.ranking_features import FEATURES, POSITION
from reelrank.ranking.ranking_stage import RankerHolder
from reelrank.training.ranker import RankerTrainConfig, evaluate, save_bundle, train_ranker
from reelrank.training.ranker_data import RankerData

SIM, RATE = FEATURES.index("similarity"), FEATURES.index("like_rate")


def synthetic(n: int, seed: int) -> RankerData:
    """Likes follow similarity, skips follow low similarity, and everything decays with position."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, len(FEATURES)), np.float32)
    x[:, SIM] = rng.uniform(-1, 1, n)
    x[:, RATE] = rng.uniform(0, 0.3, n)
    x[:, POSITION] = rng.integers(0, 10, n)
    y = np.zeros((n, len(HEADS) + 1), np.float32)
    bias = -0.1 * x[:, POSITION]
    p_like = 1 / (1 + np.exp(-(2.5 * x[:, SIM] + 5 * x[:, RATE] - 1.5 + bias)))
    p_skip = 1 / (1 + np.exp(-(-2.5 * x[:, SIM] - 0.5)))
    y[:, HEADS.index("like")] = rng.uniform(size=n) < p_like
    y[:, HEADS.index("skip")] = rng.uniform(size=n) < p_skip
    y[:, -1] = np.clip(0.5 + 0.4 * x[:, SIM], 0, 1)
    return RankerData(x, y, np.arange(n, dtype=np.float64))


@pytest.mark.parametrize(("arch", "cls"), [("shared_bottom", MultiTaskRanker), ("mmoe", MMoERanker)])
def test_heads_learn_their_signal_calibrated_and_round_trip(tmp_path: Path, arch: str, cls: type) -> None:
    train, test = synthetic(6000, 0).time_split(0.25)
    bundle = train_ranker(train, RankerTrainConfig(epochs=4, threads=1, arch=arch), progress=False)
    assert isinstance(bundle.ranker, cls)
    m = evaluate(bundle, test)
    assert m["like"]["auc"] > 0.75 and m["skip"]["auc"] > 0.75
    assert m["like"]["ece"] < 0.05 and m["skip"]["ece"] < 0.05
    assert m["prerank_teacher_corr"] > 0.8  # the distilled pre-ranker follows the ranker's value
    version = save_bundle(bundle, tmp_path, m, {})
    loaded = RankerHolder(tmp_path, backend="numpy").get()
    assert loaded is not None and loaded.version == version == "v0001" and isinstance(loaded.ranker, cls)
    x = test.x[:50]
    np.testing.assert_allclose(loaded.ranker.predict(x)["like"], bundle.ranker.predict(x)["like"], rtol=1e-5)
    np.testing.assert_allclose(loaded.preranker.score(x), bundle.preranker.score(x), rtol=1e-4, atol=1e-5)
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        served = RankerHolder(tmp_path).get()  # backend "auto": onnxruntime, what serving runs
        assert served is not None and type(served.ranker).__name__ == "OnnxRanker"
        want, got = bundle.ranker.predict(x), served.ranker.predict(x)
        for h in (*HEADS, "watch"):
            np.testing.assert_allclose(got[h], want[h], atol=1e-5)
        assert (tmp_path / "models" / "ranker" / version / "ranker.onnx").is_file()


def test_unknown_arch_is_refused() -> None:
    with pytest.raises(ValueError, match="arch"):
        train_ranker(synthetic(200, 0), RankerTrainConfig(epochs=1, arch="transformer"), progress=False)
