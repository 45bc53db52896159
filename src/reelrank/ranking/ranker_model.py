"""Numpy inference of the ranking models (trained by training/ranker.py; torch never imported here).

Two multi-task rankers, one output contract (head -> (N,) probability, plus 'watch'):

- `MultiTaskRanker` (arch "shared_bottom"): standardise -> shared bottom MLP (ReLU) -> one logistic
  head per outcome, plus a watch-ratio head.
- `MMoERanker` (arch "mmoe", Ma et al. 2018): standardise -> E expert MLPs (ReLU) -> per task a
  softmax gate over the experts (computed from the standardised input) -> the gated mixture of the
  experts' outputs -> that task's logistic head.

`PreRanker`: a logistic model distilled from the ranker's value score, cheap enough for thousands of
candidates. All load from one `ranker.npz` in a registry version folder (its `arch` entry says which
ranker; artifacts without it are shared-bottom).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from reelrank.labels.labeller import HEADS

ARCHS = ("shared_bottom", "mmoe")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def head_dict(p: np.ndarray) -> dict[str, np.ndarray]:
    """(N, T) probabilities -> head name -> (N,); the last column is the watch ratio."""
    out = {name: p[:, i] for i, name in enumerate(HEADS)}
    out["watch"] = p[:, len(HEADS)]
    return out


@dataclass(frozen=True)
class MultiTaskRanker:
    mean: np.ndarray  # (F,)
    std: np.ndarray  # (F,)
    layers: list[tuple[np.ndarray, np.ndarray]]  # [(F, H1), (H1,)], [(H1, H2), (H2,)] shared bottom
    head_w: np.ndarray  # (H, T): T = len(HEADS) + 1 (the last is the watch ratio)
    head_b: np.ndarray  # (T,)

    arch = "shared_bottom"

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """x (N, F) -> head -> (N,) probability; 'watch' -> expected watch ratio in [0, 1]."""
        h = (x - self.mean) / self.std  # (N, F)
        for w, b in self.layers:
            h = np.maximum(h @ w + b, 0.0)  # (N, H)
        return head_dict(_sigmoid(h @ self.head_w + self.head_b))  # (N, T)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"arch": np.asarray(self.arch), "n_layers": np.asarray(len(self.layers)), "mean": self.mean,
               "std": self.std, "head_w": self.head_w, "head_b": self.head_b}
        for i, (w, b) in enumerate(self.layers):
            out[f"w{i}"], out[f"b{i}"] = w, b
        return out


@dataclass(frozen=True)
class MMoERanker:
    mean: np.ndarray  # (F,)
    std: np.ndarray  # (F,)
    experts: list[tuple[np.ndarray, np.ndarray]]  # per layer: weights (E, D_in, D_out), biases (E, D_out)
    gate_w: np.ndarray  # (F, T * E): task t's gate logits are columns t*E .. t*E + E - 1
    gate_b: np.ndarray  # (T * E,)
    head_w: np.ndarray  # (T, H): task t's head on its mixture of the experts' last layer
    head_b: np.ndarray  # (T,)

    arch = "mmoe"

    @property
    def n_experts(self) -> int:
        return int(self.experts[0][0].shape[0])

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Same contract as MultiTaskRanker.predict."""
        z = ((x - self.mean) / self.std).astype(np.float32)  # (N, F)
        h = np.broadcast_to(z, (self.n_experts, *z.shape))  # (E, N, F)
        for w, b in self.experts:
            h = np.maximum(np.matmul(h, w) + b[:, None, :], 0.0)  # (E, N, D)
        t = self.head_b.shape[0]
        g = (z @ self.gate_w + self.gate_b).reshape(len(z), t, self.n_experts)  # (N, T, E)
        g = np.exp(g - g.max(axis=2, keepdims=True))
        g /= g.sum(axis=2, keepdims=True)
        mix = np.matmul(g, h.transpose(1, 0, 2))  # (N, T, E) @ (N, E, H) -> (N, T, H)
        return head_dict(_sigmoid((mix * self.head_w).sum(axis=2) + self.head_b))  # (N, T)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"arch": np.asarray(self.arch), "n_layers": np.asarray(len(self.experts)), "mean": self.mean,
               "std": self.std, "gate_w": self.gate_w, "gate_b": self.gate_b, "head_w": self.head_w,
               "head_b": self.head_b}
        for i, (w, b) in enumerate(self.experts):
            out[f"ew{i}"], out[f"eb{i}"] = w, b
        return out


Ranker = MultiTaskRanker | MMoERanker


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


def ranker_from_arrays(z: dict[str, np.ndarray]) -> Ranker:
    """The inverse of `arrays()`; an artifact without `arch` is a shared-bottom one (older versions)."""
    arch = str(z["arch"]) if "arch" in z else "shared_bottom"
    n_layers = int(z["n_layers"])
    f32 = {k: z[k].astype(np.float32) for k in z if k not in ("arch", "n_layers")}
    if arch == "mmoe":
        experts = [(f32[f"ew{i}"], f32[f"eb{i}"]) for i in range(n_layers)]
        return MMoERanker(f32["mean"], f32["std"], experts, f32["gate_w"], f32["gate_b"], f32["head_w"],
                          f32["head_b"])
    if arch != "shared_bottom":
        raise ValueError(f"unknown ranker arch {arch!r}")
    layers = [(f32[f"w{i}"], f32[f"b{i}"]) for i in range(n_layers)]
    return MultiTaskRanker(f32["mean"], f32["std"], layers, f32["head_w"], f32["head_b"])


@dataclass(frozen=True)
class RankerBundle:
    version: str
    features: tuple[str, ...]
    ranker: HeadPredictor  # MultiTaskRanker / MMoERanker (numpy) or OnnxRanker (ranking/onnx_ranker.py)
    preranker: PreRanker

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything `ranker.npz` holds (the numpy ranker only: a serving backend is not saved)."""
        if not isinstance(self.ranker, MultiTaskRanker | MMoERanker):
            raise TypeError("save the numpy ranker train_ranker returned, not a serving backend")
        return {**self.ranker.arrays(), "pre_w": self.preranker.w, "pre_b": np.asarray(self.preranker.b)}

    @classmethod
    def load(cls, folder: Path, version: str) -> RankerBundle:
        meta = json.loads((folder / "meta.json").read_text())
        with np.load(folder / "ranker.npz") as z:
            arrays = {k: z[k] for k in z.files}
        ranker = ranker_from_arrays(arrays)
        pre = PreRanker(ranker.mean, ranker.std, arrays["pre_w"].astype(np.float32), float(arrays["pre_b"]))
        return cls(version, tuple(meta["features"]), ranker, pre)
