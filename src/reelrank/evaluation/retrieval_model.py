"""The two-tower model `reelrank eval` scores with: trained on the split's training part, or reused.

Training the two-tower model is most of an evaluation run's time (ML-1M: ~25 epochs of 35-100 s).
`reelrank eval --publish` writes the evaluated model to the store's retrieval registry tagged with the
split it was trained on; `reelrank eval --model-version vNNNN` loads such a version instead of
training, so later runs (the ranker, the funnel settings) reuse one training. Only a version trained
on this store's leave-one-out training part is accepted: a production version (`reelrank train
retrieval`) has seen every validation target, and a version from other data would not line up with
this split; both are refused with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from reelrank.evaluation.split import Case
from reelrank.models.config import TwoTowerConfig
from reelrank.models.features import UserFeatures
from reelrank.models.registry import ModelRegistry
from reelrank.models.two_tower import TwoTowerModel
from reelrank.models.user_encoder import UserEncoder, dense_lookup
from reelrank.training.dataset import LogData
from reelrank.training.retrieval import fit_on, known_sets

SPLIT_TAG = "leave-one-out train part"  # metrics.json "split" of versions published by `reelrank eval`


@dataclass
class RetrievalModel:
    model: TwoTowerModel
    users: UserFeatures  # row = uid
    item_vecs: np.ndarray  # (P, D) unit vectors by pid, row 0 zero
    known_posts: np.ndarray  # (P,) bool: in the training sequences
    known_users: np.ndarray  # (U,) bool
    summary: dict[str, Any]  # training summary (best epoch, validation metrics, epoch times)
    train_s: float = 0.0
    version: str | None = None  # the registry version it was loaded from, if any

    def user_vectors(self, cases: list[Case]) -> np.ndarray:
        """(C, D) user-tower outputs over each case's history."""
        if not cases:
            return np.zeros((0, self.item_vecs.shape[1]), np.float32)
        enc = UserEncoder(self.model, dense_lookup(self.item_vecs))
        users = self.users.take(np.asarray([c.uid for c in cases], dtype=np.int64))
        return enc.encode(users, [c.history for c in cases])


def train_model(data: LogData, cfg: TwoTowerConfig, train: dict[int, Any], valid: list[Case],
                progress: bool = True) -> RetrievalModel:
    import time

    t0 = time.time()
    trainer, result, known_posts, known_users = fit_on(data, cfg, train, valid, progress)
    summary = result.summary()
    return RetrievalModel(trainer.model, trainer.users, trainer.item_vectors(), known_posts, known_users, summary,
                          time.time() - t0)


def load_model(registry: ModelRegistry, version: str, data: LogData, train: dict[int, Any]) -> RetrievalModel:
    """A version `reelrank eval --publish` wrote for this very split; ValueError otherwise."""
    folder = registry.path(version)
    if not folder.is_dir():
        raise ValueError(f"no model version {version} in {registry.root}")
    metrics = json.loads((folder / "metrics.json").read_text())
    if metrics.get("split") != SPLIT_TAG:
        raise ValueError(f"{version} was not trained on the evaluation split's training part (split: "
                         f"{metrics.get('split', metrics.get('holdout'))!r}); its scores would leak validation "
                         "or test targets. Publish one with `reelrank eval --publish`.")
    window = json.loads((folder / "data_window.json").read_text())
    if window != json.loads(json.dumps(data.window.as_dict())):
        raise ValueError(f"{version} was trained on another data window ({window}), not this store's "
                         f"({data.window.as_dict()})")
    known_posts, known_users = known_sets(data, train)
    ids = np.load(folder / "ids.npz")
    expect = {data.post_ids[p] for p in np.flatnonzero(known_posts)}
    if set(ids["known_posts"].tolist()) != expect:
        raise ValueError(f"{version} knows other posts than this split's training part")
    cfg = TwoTowerConfig.from_json((folder / "config.json").read_text())
    model = TwoTowerModel(cfg)
    model.load_state_dict(torch.load(folder / "weights.pt", map_location="cpu", weights_only=True))
    model.eval()
    item_vecs = model.item_vectors(data.item_features(known_posts, cfg.buckets))  # (P, D)
    item_vecs[0] = 0.0
    users = data.user_features(range(len(data.users)), known_users, cfg.buckets)
    summary = {k: v for k, v in metrics.items() if k != "split"}
    return RetrievalModel(model, users, item_vecs, known_posts, known_users, summary, 0.0, version)
