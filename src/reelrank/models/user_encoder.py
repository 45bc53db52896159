"""Turns (profile, token sequence) into user-tower vectors: batched for evaluation, one at a time for serving.

Both paths build the same right-aligned input (BOS + the last max_len-1 tokens) and read the
output at the last position, exactly what training reads at that position.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from reelrank.models.features import UserFeatures
from reelrank.models.sequence import Tokens
from reelrank.models.two_tower import TwoTowerModel, to_tensors


def pack(seqs: list[Tokens], length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right-align sequences into (B, L) pids, kinds, valid (slot of BOS + tokens), L <= length."""
    tails = [s.tail(length - 1) for s in seqs]
    n = 1 + max((len(t) for t in tails), default=0)
    pids = np.zeros((len(seqs), n), np.int64)
    kinds = np.zeros((len(seqs), n), np.int64)
    valid = np.zeros((len(seqs), n), bool)
    for i, t in enumerate(tails):
        k = len(t)
        if k:
            pids[i, n - k :], kinds[i, n - k :] = t.pids, t.kinds
        valid[i, n - k - 1 :] = True
    return pids, kinds, valid


Lookup = Callable[[np.ndarray], np.ndarray]  # pids (n,) -> (n, D) item-tower vectors, zero rows if unknown


def dense_lookup(item_vecs: np.ndarray) -> Lookup:
    """Lookup over a (P, D) array whose row is the pid."""

    def get(pids: np.ndarray) -> np.ndarray:
        out = item_vecs[np.where(pids < len(item_vecs), pids, 0)]
        out[pids >= len(item_vecs)] = 0.0
        return out

    return get


class UserEncoder:
    """Runs the user tower in eval mode; `lookup` gives the item-tower vectors of the sequence's posts."""

    def __init__(self, model: TwoTowerModel, lookup: Lookup) -> None:
        self.model = model.eval()
        self.lookup = lookup
        self.max_len = model.cfg.max_len

    @torch.inference_mode()
    def encode(self, users: UserFeatures, seqs: list[Tokens], batch: int = 256) -> np.ndarray:
        """(B,) users with their sequences -> (B, D) float32 unit vectors."""
        out = []
        for s in range(0, len(seqs), batch):
            chunk = seqs[s : s + batch]
            pids, kinds, valid = pack(chunk, self.max_len)
            flat = self.lookup(pids.ravel())  # (B * L, D)
            flat[pids.ravel() == 0] = 0.0
            vecs = torch.from_numpy(np.ascontiguousarray(flat, dtype=np.float32)).view(*pids.shape, -1)  # (B, L, D)
            u = to_tensors(users.take(np.arange(s, s + len(chunk))))
            h = self.model.users(u, vecs, torch.from_numpy(kinds), torch.from_numpy(valid))  # (B, L, D)
            out.append(h[:, -1].numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.cfg.dim), np.float32)
