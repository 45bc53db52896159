"""Trains the multi-task ranker and distils the pre-ranker from it (`reelrank train ranker`).

Model: standardise -> shared bottom MLP (F -> 64 -> 32, ReLU) -> one logistic head per outcome in
HEADS plus a watch-ratio head (soft BCE). Shared bottom rather than MMoE: with ~10 features and
tens of thousands of examples the heads share almost all their signal; MMoE is the next step when
tasks start to conflict. Position is a feature in training and 0 at serving (position-bias handling).

Pre-ranker: linear regression of the ranker's value score (ConfigSettings value weights, surface from
the is_explore feature) on the same standardised features, closed form; exported with the ranker to
one npz that serving reads with numpy only (ranking/ranker_model.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from reelrank.config import RankingSettings
from reelrank.labels.labeller import HEADS
from reelrank.models.registry import ModelRegistry, stamp, write_json
from reelrank.ranking.calibration import auc, ece
from reelrank.ranking.ranker_model import MultiTaskRanker, PreRanker, RankerBundle
from reelrank.ranking.ranking_features import FEATURES, POSITION
from reelrank.ranking.value_model import value_of
from reelrank.training.ranker_data import RankerData

log = logging.getLogger(__name__)
IS_EXPLORE = FEATURES.index("is_explore")


@dataclass(frozen=True)
class RankerTrainConfig:
    hidden: tuple[int, ...] = (64, 32)
    epochs: int = 8
    batch: int = 512
    lr: float = 3e-3
    weight_decay: float = 1e-5
    seed: int = 0
    threads: int = 2


class SharedBottom(nn.Module):
    def __init__(self, n_features: int, hidden: tuple[int, ...], n_tasks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = n_features
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU()]
            d = h
        self.bottom = nn.Sequential(*layers)
        self.heads = nn.Linear(d, n_tasks)  # one logit per task, all heads as one matrix

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.bottom(x))  # (B, F) -> (B, T) logits


def train_ranker(train: RankerData, cfg: RankerTrainConfig | None = None,
                 settings: RankingSettings | None = None, progress: bool = True) -> RankerBundle:
    cfg = cfg or RankerTrainConfig()
    settings = settings or RankingSettings.model_validate({})
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    gen = torch.Generator().manual_seed(cfg.seed)
    mean = train.x.mean(axis=0)
    std = train.x.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0).astype(np.float32)
    xs = torch.from_numpy((train.x - mean) / std)  # (N, F)
    ys = torch.from_numpy(train.y)  # (N, T)
    model = SharedBottom(len(FEATURES), cfg.hidden, ys.shape[1])
    # Bias init at the base rates: calibrated from step one, rare heads do not start at 0.5.
    with torch.no_grad():
        rate = ys.mean(0).clamp(1e-4, 1 - 1e-4)
        model.heads.bias.copy_(torch.log(rate / (1 - rate)))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    n = len(xs)
    for _epoch in tqdm(range(cfg.epochs), desc="ranker", unit="epoch", disable=not progress):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, cfg.batch):
            idx = perm[i : i + cfg.batch]
            loss = loss_fn(model(xs[idx]), ys[idx])  # mean over (B, T): every head weighs the same
            opt.zero_grad()
            loss.backward()
            opt.step()
    linears = [m for m in model.bottom if isinstance(m, nn.Linear)]
    layers = [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in linears]
    ranker = MultiTaskRanker(mean.astype(np.float32), std, layers,
                             model.heads.weight.detach().numpy().T.copy(), model.heads.bias.detach().numpy().copy())
    return RankerBundle("", FEATURES, ranker, distil_preranker(ranker, train.x, settings))


def distil_preranker(ranker: MultiTaskRanker, x: np.ndarray, settings: RankingSettings) -> PreRanker:
    """Least squares of the ranker's value (at position 0, as served) on the standardised features."""
    x0 = x.copy()
    x0[:, POSITION] = 0.0
    preds = ranker.predict(x0)
    explore = x0[:, IS_EXPLORE] > 0.5
    value = np.where(explore, value_of(preds, settings.explore), value_of(preds, settings.reels))  # (N,)
    z = (x0 - ranker.mean) / ranker.std  # (N, F)
    a = np.hstack([z, np.ones((len(z), 1), dtype=np.float32)])  # (N, F + 1)
    coef, *_ = np.linalg.lstsq(a.astype(np.float64), value.astype(np.float64), rcond=None)
    return PreRanker(ranker.mean, ranker.std, coef[:-1].astype(np.float32), float(coef[-1]))


def evaluate(bundle: RankerBundle, test: RankerData) -> dict[str, Any]:
    """Per-head AUC and ECE on held-out examples (served as at serving: position 0 for AUC/ECE would
    hide the position effect the labels contain, so the logged position is kept here)."""
    preds = bundle.ranker.predict(test.x)
    out: dict[str, Any] = {"n_test": len(test)}
    for k, head in enumerate(HEADS):
        y, p = test.y[:, k], preds[head]
        out[head] = {"auc": round(auc(y, p), 4), "ece": round(ece(y, p), 4),
                     "rate": round(float(y.mean()), 4), "pred": round(float(p.mean()), 4)}
    watch = test.y[:, -1]
    out["watch"] = {"mae": round(float(np.abs(preds["watch"] - watch).mean()), 4),
                    "mean": round(float(watch.mean()), 4)}
    pre = bundle.preranker.score(test.x)
    x0 = test.x.copy()
    x0[:, POSITION] = 0.0
    teacher = value_of(bundle.ranker.predict(x0), RankingSettings.model_validate({}).reels)
    out["prerank_teacher_corr"] = round(float(np.corrcoef(pre, teacher)[0, 1]), 4) if len(test) > 1 else None
    return out


def save_bundle(bundle: RankerBundle, data_dir: Path, metrics: dict[str, Any], window: dict[str, Any]) -> str:
    """Writes a new registry version (ranker.npz + meta/metrics) and makes it current."""
    registry = ModelRegistry.for_data_dir(data_dir, "ranker")
    r, p = bundle.ranker, bundle.preranker
    if not isinstance(r, MultiTaskRanker):
        raise TypeError("save the numpy ranker train_ranker returned, not a serving backend")
    arrays: dict[str, np.ndarray] = {"n_layers": np.asarray(len(r.layers)), "mean": r.mean, "std": r.std,
                                     "head_w": r.head_w, "head_b": r.head_b, "pre_w": p.w, "pre_b": np.asarray(p.b)}
    for i, (w, b) in enumerate(r.layers):
        arrays[f"w{i}"], arrays[f"b{i}"] = w, b
    with registry.new_version() as (version, tmp):
        np.savez(tmp / "ranker.npz", **arrays)  # type: ignore[arg-type]
        write_json(tmp / "metrics.json", metrics)
        write_json(tmp / "data_window.json", window)
        write_json(tmp / "meta.json", {**stamp(), "version": version, "kind": "ranker", "features": list(FEATURES),
                                       "heads": list(HEADS)})
    registry.set_current(version)
    return version
