"""One loaded retrieval model, ready to serve: the user tower plus an ANN index of item-tower vectors.

Built entirely off to the side (weights, index, vectors for posts newer than the model) and only
then handed to the ModelHolder, which swaps one reference. torch is imported here, so this module
is only imported once a model exists.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import torch

from reelrank.config import IndexSettings
from reelrank.domain import User
from reelrank.index.ann_index import AnnIndex
from reelrank.models.config import TwoTowerConfig
from reelrank.models.features import UserFeatures
from reelrank.models.post_features import CataloguePostFeatures
from reelrank.models.sequence import Tokens
from reelrank.models.two_tower import TwoTowerModel
from reelrank.models.user_encoder import UserEncoder
from reelrank.state.catalogue import Catalogue

log = logging.getLogger(__name__)
REFRESH_BATCH = 4096


class RetrievalModel:
    def __init__(self, version: str, cfg: TwoTowerConfig, model: TwoTowerModel, index: AnnIndex,
                 known_posts: set[str], known_users: set[str]) -> None:
        self.version = version
        self.cfg = cfg
        self.model = model.eval()
        self.index = index  # item-tower vectors of live posts, keyed by pid
        self.known_posts = known_posts
        self.known_users = known_users
        self.encoder = UserEncoder(model, index.vectors)
        self._lock = threading.Lock()  # one forward at a time: torch modules are shared across request threads
        self.covered_pid = 0  # every live post with pid <= this has a vector (or was never live)

    @classmethod
    def load(cls, version: str, folder: Path, catalogue: Catalogue, posts: CataloguePostFeatures,
             index_settings: IndexSettings) -> RetrievalModel:
        cfg = TwoTowerConfig.from_json((folder / "config.json").read_text())
        model = TwoTowerModel(cfg)
        model.load_state_dict(torch.load(folder / "weights.pt", map_location="cpu", weights_only=True))
        with np.load(folder / "item_vectors.npz") as z:
            post_ids, vecs = z["post_ids"], z["vectors"].astype(np.float32)
        with np.load(folder / "ids.npz") as z:
            known_posts, known_users = set(z["known_posts"].tolist()), set(z["known_users"].tolist())
        pid_of = catalogue.pid_of
        pids = np.fromiter((pid_of.get(str(p), 0) for p in post_ids), dtype=np.int64, count=len(post_ids))
        ok = (pids > 0) & catalogue.active[np.minimum(pids, len(catalogue.active) - 1)]
        index = AnnIndex(cfg.dim, index_settings, capacity=int(ok.sum()) + 1024)
        index.add(pids[ok], vecs[ok])
        rt = cls(version, cfg, model, index, known_posts, known_users)
        rt.refresh(catalogue, posts)
        return rt

    # -- catalogue changes -------------------------------------------------------------------------
    def refresh(self, catalogue: Catalogue, posts: CataloguePostFeatures) -> int:
        """Give live posts without a model vector one from their content features (new posts); drop
        removed ones. Returns how many posts were added."""
        top = catalogue.max_pid
        gone = self._removed(catalogue)
        if len(gone):
            self.index.remove(gone)
        if top <= self.covered_pid:
            return 0
        live = np.flatnonzero(catalogue.active[: top + 1])
        have = np.isin(live, self.index.live_pids())
        todo = live[~have]
        added = 0
        for s in range(0, len(todo), REFRESH_BATCH):
            chunk = todo[s : s + REFRESH_BATCH]
            feats = posts.build(chunk, self.known_posts, self.cfg.buckets, time.time())
            with self._lock:
                vecs = self.model.item_vectors(feats)  # (n, D)
            self.index.add(chunk, vecs)
            added += len(chunk)
        self.covered_pid = top
        if added:
            log.info("model %s: %d posts placed from content features", self.version, added)
        return added

    def _removed(self, catalogue: Catalogue) -> np.ndarray:
        live = self.index.live_pids()
        live = live[live < len(catalogue.active)]
        return live[~catalogue.active[live]]

    # -- per request -------------------------------------------------------------------------------
    def user_vector(self, user: User, tokens: Tokens) -> np.ndarray:
        """(D,) unit query vector for one user from profile + freshest sequence."""
        feats = UserFeatures.build([user.user_id], [user.region], [user.language], [user.birth_year],
                                   [user.interests], np.asarray([user.user_id in self.known_users]),
                                   self.cfg.buckets)
        with self._lock:
            return self.encoder.encode(feats, [tokens])[0]
