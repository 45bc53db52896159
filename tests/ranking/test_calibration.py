from __future__ import annotations

import numpy as np

from reelrank.ranking.calibration import auc, ece


def test_auc_known_values() -> None:
    y = np.array([0, 0, 1, 1])
    assert auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert np.isnan(auc(np.zeros(3), np.array([0.1, 0.2, 0.3])))


def test_ece_is_zero_when_calibrated_and_large_when_not() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=50_000)
    y = (rng.uniform(size=p.size) < p).astype(float)
    assert ece(y, p) < 0.01
    assert ece(y, np.clip(p + 0.3, 0, 1)) > 0.2
