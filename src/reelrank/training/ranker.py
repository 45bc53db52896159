"""Trains the multi-task ranker and distils the pre-ranker from it (`reelrank train ranker`).

Model (`RankerTrainConfig.arch`, networks in training/ranker_nets.py): standardise -> either a shared
bottom MLP (F -> 64 -> 32, ReLU) or MMoE (`experts` MLPs of that shape, one softmax gate per task) ->
one logistic head per outcome in HEADS plus a watch-ratio head (soft BCE). The default, shared-bottom,
is the one the held-out comparison in bench/bench_ranking.py --compare-arch picked (README 'Ranking
stack').
Position is a feature in training and 0 at serving (position-bias handling).

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
from reelrank.ranking.calibration import auc, ece
from reelrank.ranking.ranker_model import PreRanker, Ranker, RankerBundle
from reelrank.ranking.ranking_features import FEATURES, POSITION
from reelrank.ranking.value_model import value_of
from reelrank.training.ranker_data import RankerData
from reelrank.training.ranker_nets import SharedBottom, build_net

__all__ = ["RankerTrainConfig", "SharedBottom", "distil_preranker", "evaluate", "save_bundle", "train_ranker"]

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
    # "shared_bottom" or "mmoe" (ranking/ranker_model.py ARCHS). Shared-bottom by measurement: MMoE was no
    # better on any head's held-out AUC/ECE and 5x slower to serve (README 'Ranking stack').
    arch: str = "shared_bottom"
    experts: int = 4  # MMoE only


def train_ranker(train: RankerData, cfg: RankerTrainConfig | None = None,
                 settings: RankingSettings | None = None, progress: bool = True, *,
                 ddp: bool = False) -> RankerBundle:
    """ddp: this process is one rank of a torchrun job (training/distributed.py): the model is wrapped in
    DistributedDataParallel and trains on the rank's share of `train` with batch / world_size per step;
    standardisation, bias init and the pre-ranker still use all of `train`, so every rank returns the same
    bundle."""
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
    model = build_net(cfg.arch, len(FEATURES), cfg.hidden, ys.shape[1], cfg.experts)
    # Bias init at the base rates: calibrated from step one, rare heads do not start at 0.5.
    with torch.no_grad():
        rate = ys.mean(0).clamp(1e-4, 1 - 1e-4)
        model.head_bias.copy_(torch.log(rate / (1 - rate)))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    net: nn.Module = model
    rows, batch = torch.arange(len(xs)), cfg.batch
    if ddp:
        from reelrank.training import ddp as dp

        net, rows, batch = dp.wrap(model), torch.from_numpy(dp.shard(len(xs))), dp.per_rank(cfg.batch)
    n = len(rows)
    for _epoch in tqdm(range(cfg.epochs), desc="ranker", unit="epoch", disable=not progress):
        perm = rows[torch.randperm(n, generator=gen)]
        for i in range(0, n, batch):
            idx = perm[i : i + batch]
            loss = loss_fn(net(xs[idx]), ys[idx])  # mean over (B, T): every head weighs the same
            opt.zero_grad()
            loss.backward()
            opt.step()
    ranker = model.to_numpy(mean.astype(np.float32), std)
    return RankerBundle("", FEATURES, ranker, distil_preranker(ranker, train.x, settings))


def distil_preranker(ranker: Ranker, x: np.ndarray, settings: RankingSettings) -> PreRanker:
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
    """Writes a new registry version (training/export.py export_ranker) and makes it current."""
    from reelrank.training.export import export_ranker

    return export_ranker(bundle, data_dir, metrics, window)
