"""Item-tower inputs for live posts, read from the engine's state (catalogue, accounts, content index).

Used by the serving side to place posts the model has not seen (created after training) in the
model's space from their content features: their id embedding is switched off, as in training's
id dropout.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from reelrank.models.features import ItemBuckets, ItemFeatures
from reelrank.state.accounts import AccountDirectory
from reelrank.state.catalogue import Catalogue
from reelrank.state.records.base import RecordStore


class VectorLookup(Protocol):
    def vectors(self, pids: np.ndarray) -> np.ndarray: ...


class CataloguePostFeatures:
    def __init__(self, catalogue: Catalogue, accounts: AccountDirectory, content: VectorLookup,
                 records: RecordStore) -> None:
        self._cat = catalogue
        self._accounts = accounts
        self._content = content
        self._records = records

    def build(self, pids: np.ndarray, known: set[str], buckets: ItemBuckets, now: float) -> ItemFeatures:
        cat = self._cat
        pids = np.asarray(pids, dtype=np.int64)
        post_ids = cat.external_ids(pids)
        creators = []
        for p in pids:
            uid = int(cat.creator[p])
            prof = self._accounts.profiles.get(uid)
            creators.append(prof.user_id if prof else str(uid))
        durations: list[int | None] = []
        for post_id in post_ids:  # duration is only in the stored record; a handful of new posts per refresh
            rec = self._records.get_post(post_id)
            durations.append(rec.post.duration_ms if rec else None)
        return ItemFeatures.build(
            post_ids, creators, [cat.topic_names(int(p)) for p in pids], cat.kind[pids].astype(np.int64),
            durations, cat.created_at[pids], now, self._content.vectors(pids),
            np.fromiter((p in known for p in post_ids), dtype=bool, count=len(pids)), buckets)
