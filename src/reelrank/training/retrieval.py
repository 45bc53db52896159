"""`reelrank train retrieval`: logs -> training examples -> two-tower model -> versioned artifact.

Each user's last positive action is held out to measure the model (recorded in metrics.json); the
rest trains it. The artifact holds item-tower vectors for every live post, so serving only runs the
user tower.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reelrank.evaluation.split import holdout_last
from reelrank.models.config import TwoTowerConfig
from reelrank.models.registry import ModelRegistry
from reelrank.state.records.base import RecordStore
from reelrank.training.dataset import LogData, load_log_data
from reelrank.training.export import export_model
from reelrank.training.trainer import Trainer, TrainResult


@dataclass
class Trained:
    version: str
    path: Path
    result: TrainResult


def known_sets(data: LogData, train: dict[int, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(P,) posts and (U,) users that appear in the training sequences."""
    posts = np.zeros(data.n_items, bool)
    users = np.zeros(len(data.users), bool)
    for uid, t in train.items():
        posts[t.pids] = True
        users[uid] = True
    return posts, users


def fit_on(data: LogData, cfg: TwoTowerConfig, train: dict[int, Any], valid: list[Any],
           progress: bool = True) -> tuple[Trainer, TrainResult, np.ndarray, np.ndarray]:
    cfg.buckets = data.buckets()
    cfg.content_dim = data.content.shape[1]
    known_posts, known_users = known_sets(data, train)
    items = data.item_features(known_posts, cfg.buckets)
    users = data.user_features(range(len(data.users)), known_users, cfg.buckets)
    trainer = Trainer(cfg, items, users, np.flatnonzero(data.active), train, valid)
    return trainer, trainer.fit(progress), known_posts, known_users


def train_retrieval(records: RecordStore, content_dim: int, registry: ModelRegistry, cfg: TwoTowerConfig,
                    make_current: bool = True, progress: bool = True) -> Trained:
    data = load_log_data(records, content_dim, progress=progress)
    if not data.seqs:
        raise ValueError("no interaction events with a post to learn from")
    train, valid = holdout_last(data.seqs)
    trainer, result, known_posts, known_users = fit_on(data, cfg, train, valid, progress)
    metrics = {"holdout": "last positive action per user", **result.summary()}
    version, path = export_model(
        registry, cfg, trainer.model, trainer.item_vectors(), data.post_ids, data.active,
        [data.post_ids[p] for p in np.flatnonzero(known_posts)],
        [u.user_id for i, u in enumerate(data.users) if u is not None and known_users[i]],
        metrics, data.window.as_dict(), make_current)
    return Trained(version, path, result)
