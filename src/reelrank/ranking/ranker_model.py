"""Numpy inference of the ranking models (trained by training/ranker.py; torch never imported here).

`MultiTaskRanker`: standardise -> shared bottom MLP (ReLU) -> one logistic head per outcome, plus a
watch-ratio head. `PreRanker`: a logistic model distilled from the ranker's value score, cheap enough
for thousands of candidates. Both load from one `ranker.npz` in a registry version folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from reelrank.labels.labeller import HEADS


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


@dataclass(frozen=True)
class MultiTaskRanker:
    mean: np.ndarray  # (F,)
    std: np.ndarray  # (F,)
    layers: list[tuple[np.ndarray, np.ndarray]]  # [(F, H1), (H1,)], [(H1, H2), (H2,)] shared bottom
    head_w: np.ndarray  # (H, T): T = len(HEADS) + 1 (the last is the watch ratio)
    head_b: np.ndarray  # (T,)

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """x (N, F) -> head -> (N,) probability; 'watch' -> expected watch ratio in [0, 1]."""
        h = (x - self.mean) / self.std  # (N, F)
        for w, b in self.layers:
            h = np.maximum(h @ w + b, 0.0)  # (N, H)
        p = _sigmoid(h @ self.head_w + self.head_b)  # (N, T)
        out = {name: p[:, i] for i, name in enumerate(HEADS)}
        out["watch"] = p[:, len(HEADS)]
        return out


@dataclass(frozen=True)
class PreRanker:
    mean: np.ndarray  # (F,)
    std: np.ndarray  # (F,)
    w: np.ndarray  # (F,)
    b: float

    def score(self, x: np.ndarray) -> np.ndarray:
        """x (N, F) -> (N,) distilled value score (higher is better)."""
        return ((x - self.mean) / self.std) @ self.w + self.b


class HeadPredictor(Protocol):
    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class RankerBundle:
    version: str
    features: tuple[str, ...]
    ranker: HeadPredictor  # MultiTaskRanker (numpy) or OnnxRanker (ranking/onnx_ranker.py)
    preranker: PreRanker

    @classmethod
    def load(cls, folder: Path, version: str) -> RankerBundle:
        meta = json.loads((folder / "meta.json").read_text())
        z = np.load(folder / "ranker.npz")
        n_layers = int(z["n_layers"])
        layers = [(z[f"w{i}"].astype(np.float32), z[f"b{i}"].astype(np.float32)) for i in range(n_layers)]
        mean, std = z["mean"].astype(np.float32), z["std"].astype(np.float32)
        ranker = MultiTaskRanker(mean, std, layers, z["head_w"].astype(np.float32), z["head_b"].astype(np.float32))
        pre = PreRanker(mean, std, z["pre_w"].astype(np.float32), float(z["pre_b"]))
        return cls(version, tuple(meta["features"]), ranker, pre)
