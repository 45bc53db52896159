"""Writes a trained model as a versioned artifact (models/registry.py) and optionally makes it current:
the two-tower retrieval model (`export_model`) and the multi-task ranker (`export_ranker`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reelrank.models.config import TwoTowerConfig
from reelrank.models.registry import ModelRegistry, stamp, write_json
from reelrank.models.two_tower import TwoTowerModel
from reelrank.ranking.ranker_model import RankerBundle

log = logging.getLogger(__name__)


def export_model(registry: ModelRegistry, cfg: TwoTowerConfig, model: TwoTowerModel, item_vecs: np.ndarray,
                 post_ids: list[str], active: np.ndarray, known_posts: list[str], known_users: list[str],
                 metrics: dict[str, Any], window: dict[str, Any], make_current: bool = True) -> tuple[str, Path]:
    """item_vecs (P, D) by pid; the live posts' vectors go into the artifact keyed by external post id."""
    rows = np.flatnonzero(active)  # (N,) pids of live posts
    with registry.new_version() as (version, tmp):
        (tmp / "config.json").write_text(cfg.to_json())
        torch.save(model.state_dict(), tmp / "weights.pt")
        np.savez(tmp / "item_vectors.npz", post_ids=np.asarray([post_ids[r] for r in rows]),
                 vectors=item_vecs[rows].astype(np.float32))
        np.savez(tmp / "ids.npz", known_posts=np.asarray(known_posts, dtype=str),
                 known_users=np.asarray(known_users, dtype=str))
        write_json(tmp / "metrics.json", metrics)
        write_json(tmp / "data_window.json", window)
        write_json(tmp / "meta.json", {**stamp(), "version": version, "kind": "two_tower",
                                       "torch": torch.__version__, "dim": cfg.dim})
    if make_current:
        registry.set_current(version)
    return version, registry.path(version)


def export_ranker(bundle: RankerBundle, data_dir: Path, metrics: dict[str, Any], window: dict[str, Any],
                  make_current: bool = True) -> str:
    """A ranker version: `ranker.npz` (the weights serving loads, ranking/ranker_model.py), `ranker.onnx`
    (the same graph serving runs through onnxruntime, for other runtimes; only when the `onnx` package is
    installed), meta/metrics/data window. Returns the version."""
    from reelrank.labels.labeller import HEADS

    registry = ModelRegistry.for_data_dir(data_dir, "ranker")
    arrays = bundle.arrays()  # TypeError for a serving backend: save the numpy ranker train_ranker returned
    arch = str(arrays["arch"])
    with registry.new_version() as (version, tmp):
        np.savez(tmp / "ranker.npz", **arrays)  # type: ignore[arg-type]
        try:
            from reelrank.ranking.onnx_ranker import onnx_model

            (tmp / "ranker.onnx").write_bytes(onnx_model(bundle.ranker).SerializeToString())  # type: ignore[arg-type]
        except ImportError:  # onnx extra not installed: serving runs the npz on numpy
            log.info("onnx not installed: ranker %s saved without ranker.onnx", version)
        write_json(tmp / "metrics.json", metrics)
        write_json(tmp / "data_window.json", window)
        write_json(tmp / "meta.json", {**stamp(), "version": version, "kind": "ranker", "arch": arch,
                                       "features": list(bundle.features), "heads": list(HEADS)})
    if make_current:
        registry.set_current(version)
    return version
