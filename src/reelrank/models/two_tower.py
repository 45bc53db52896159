"""The two-tower retrieval model (torch modules only; the training loop lives in reelrank.training).

Item tower: hashed post id (two hashes, switched off for posts never seen in training), creator,
topics, the content vector, kind, duration and age -> MLP -> unit vector.

User tower: a BOS token made from the profile (hashed user id, region, language, birth decade,
onboarding interests), followed by the recent actions (item-tower vector of the post + the action's
kind + position) -> causal self-attention -> the output at the last position, joined with the
profile -> unit vector. Training reads the output at every position (each predicts the next action),
serving only the last one.

score(user, post) = <u, v> / temperature; retrieval is inner-product search over item vectors.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reelrank.models.config import TwoTowerConfig
from reelrank.models.features import AGE_BUCKETS, BIRTH_BUCKETS, DURATION_BUCKETS, ItemFeatures, UserFeatures
from reelrank.models.sequence import N_KINDS

if TYPE_CHECKING:
    from collections.abc import Mapping

N_POST_KINDS = 3


def to_tensors(feats: ItemFeatures | UserFeatures) -> dict[str, Tensor]:
    return {f.name: torch.from_numpy(np.ascontiguousarray(getattr(feats, f.name))) for f in fields(feats)}


class ItemTower(nn.Module):
    def __init__(self, cfg: TwoTowerConfig) -> None:
        super().__init__()
        d, b = cfg.dim, cfg.buckets
        self.id_emb = nn.Embedding(b.items, d)
        self.creator_emb = nn.Embedding(b.creators, d)
        self.topic_emb = nn.EmbeddingBag(b.topics, d, mode="sum", padding_idx=0)
        self.content = nn.Linear(cfg.content_dim, d)
        self.kind_emb = nn.Embedding(N_POST_KINDS, d)
        self.dur_emb = nn.Embedding(DURATION_BUCKETS, d)
        self.age_emb = nn.Embedding(AGE_BUCKETS, d)
        # LayerNorm first: the small-init embeddings would otherwise be drowned by the MLP's biases and
        # every post would start at nearly the same vector (mean cosine ~0.98), stalling training.
        # A linear skip path keeps the output centred (GELU's positive mean would give every post a
        # shared direction).
        self.norm = nn.LayerNorm(5 * d)
        self.skip = nn.Linear(5 * d, d, bias=False)
        self.mlp = nn.Sequential(nn.Linear(5 * d, 2 * d), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(2 * d, d))
        self.id_dropout = cfg.id_dropout
        for emb in (self.id_emb, self.creator_emb, self.kind_emb, self.dur_emb, self.age_emb):
            nn.init.normal_(emb.weight, std=0.05)
        nn.init.normal_(self.topic_emb.weight, std=0.05)

    def forward(self, x: Mapping[str, Tensor]) -> Tensor:
        known = x["known"].float()  # (n,)
        if self.training and self.id_dropout > 0:
            known = known * (torch.rand_like(known) >= self.id_dropout).float()
        ids = self.id_emb(x["id_hash"]).sum(1) * known[:, None]  # (n, 2, d) -> (n, d)
        topics = x["topic_hash"]  # (n, T)
        n_topics = (topics > 0).sum(1, keepdim=True).clamp(min=1).float()  # (n, 1)
        topic = self.topic_emb(topics) / n_topics  # (n, d) mean over the post's topics
        dense = self.kind_emb(x["kind"]) + self.dur_emb(x["duration"]) + self.age_emb(x["age"])  # (n, d)
        h = torch.cat([ids, self.creator_emb(x["creator_hash"]), topic, self.content(x["content"]), dense], 1)
        h = self.norm(h)
        return F.normalize(self.skip(h) + self.mlp(h), dim=-1)  # (n, 5d) -> (n, d)


class _Block(nn.Module):
    """Pre-LN causal self-attention block."""

    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ffn = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, allowed: Tensor) -> Tensor:
        b, n, d = x.shape  # (B, L, D)
        q, k, v = self.qkv(self.ln1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        # No dropout on the (B, H, L, L) attention weights: on CPU it costs more than the rest of the block.
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)  # (B, H, L, D/H)
        x = x + self.drop(self.out(att.transpose(1, 2).reshape(b, n, d)))
        return x + self.drop(self.ffn(self.ln2(x)))


class UserTower(nn.Module):
    def __init__(self, cfg: TwoTowerConfig) -> None:
        super().__init__()
        d, b = cfg.dim, cfg.buckets
        self.max_len = cfg.max_len
        self.id_emb = nn.Embedding(b.users, d)
        self.region_emb = nn.Embedding(b.regions, d)
        self.birth_emb = nn.Embedding(BIRTH_BUCKETS, d)
        self.interest_emb = nn.EmbeddingBag(b.topics, d, mode="sum", padding_idx=0)
        self.bos = nn.Parameter(torch.zeros(d))
        self.token_in = nn.Linear(d, d)
        self.kind_emb = nn.Embedding(N_KINDS, d)
        self.pos_emb = nn.Embedding(cfg.max_len, d)
        self.blocks = nn.ModuleList(_Block(d, cfg.heads, cfg.dropout) for _ in range(cfg.layers))
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(2 * d, d)
        self.drop = nn.Dropout(cfg.dropout)
        for emb in (self.id_emb, self.region_emb, self.birth_emb, self.kind_emb, self.pos_emb):
            nn.init.normal_(emb.weight, std=0.05)
        nn.init.normal_(self.interest_emb.weight, std=0.05)

    def profile(self, u: Mapping[str, Tensor]) -> Tensor:
        """(B,) users -> (B, D) profile vectors."""
        known = u["known"].float()[:, None]  # (B, 1): an unseen user id says nothing
        n_int = (u["interest_hash"] > 0).sum(1, keepdim=True).clamp(min=1).float()
        return (self.id_emb(u["id_hash"]).sum(1) * known + self.region_emb(u["region_hash"])
                + self.region_emb(u["language_hash"]) + self.birth_emb(u["birth"])
                + self.interest_emb(u["interest_hash"]) / n_int)

    def forward(self, u: Mapping[str, Tensor], item_vecs: Tensor, kinds: Tensor, valid: Tensor) -> Tensor:
        """Right-aligned sequences -> one unit vector per position.

        u: profile tensors (B,); item_vecs (B, L, D) item-tower vectors of the actions, slot 0 is the
        BOS slot (its value is ignored); kinds (B, L); valid (B, L) bool, True for BOS and real actions
        (padding sits on the left). Returns (B, L, D): position t summarises BOS + actions up to t.
        """
        b, n, d = item_vecs.shape
        prof = self.profile(u)  # (B, D)
        tok = self.token_in(item_vecs) + self.kind_emb(kinds)  # (B, L, D)
        first = valid.float().argmax(1)  # (B,) slot of the BOS token
        is_bos = torch.arange(n)[None, :] == first[:, None]  # (B, L)
        tok = torch.where(is_bos[..., None], (self.bos + prof)[:, None, :], tok)
        offset = self.max_len - n  # positions as if every batch were padded to max_len
        x = self.drop(tok + self.pos_emb(torch.arange(offset, offset + n))[None]) * valid[..., None]
        causal = torch.ones(n, n, dtype=torch.bool).tril()  # (L, L)
        allowed = causal[None] & valid[:, None, :]  # (B, L, L): attend to real earlier slots
        allowed = (allowed | torch.eye(n, dtype=torch.bool)[None])[:, None]  # padding attends to itself: no NaN
        for blk in self.blocks:
            x = blk(x, allowed)
        h = self.ln(x)  # (B, L, D)
        return F.normalize(self.head(torch.cat([h, prof[:, None, :].expand(b, n, d)], -1)), dim=-1)


class TowerOutputs(NamedTuple):
    """What one training step needs from the model (the loss is computed from these)."""

    users: Tensor  # (B, L, D) user-tower output at every position
    items: Tensor  # (U, D) item-tower vectors of the batch's posts
    temperature: Tensor  # () softmax temperature


class TwoTowerModel(nn.Module):
    """`forward` runs both towers for one training batch (what DistributedDataParallel wraps);
    serving and evaluation call the towers (`items`, `users`) directly."""

    def __init__(self, cfg: TwoTowerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.items = ItemTower(cfg)
        self.users = UserTower(cfg)
        self.log_temperature = nn.Parameter(torch.tensor(float(np.log(cfg.init_temperature))),
                                            requires_grad=cfg.learn_temperature)

    @property
    def temperature(self) -> Tensor:
        return self.log_temperature.exp().clamp(min=self.cfg.min_temperature)

    def forward(self, item_x: Mapping[str, Tensor], user_x: Mapping[str, Tensor], seq_rows: Tensor,
                kinds: Tensor, valid: Tensor) -> TowerOutputs:
        """One training batch: item_x holds the features of the batch's U posts (each once), seq_rows
        (B, L) the row of item_x behind every input action, user_x the B users' profiles; kinds and
        valid as in UserTower.forward. The item tower runs once over the U posts; the user tower reads
        their vectors at seq_rows."""
        vecs = self.items(item_x)  # (U, D)
        return TowerOutputs(self.users(user_x, vecs[seq_rows], kinds, valid), vecs, self.temperature)

    @torch.no_grad()
    def item_vectors(self, feats: ItemFeatures, batch: int = 8192) -> np.ndarray:
        """(N,) posts -> (N, D) float32 unit vectors (eval mode, no id dropout)."""
        was = self.training
        self.eval()
        out = [self.items(to_tensors(feats.take(np.arange(s, min(s + batch, len(feats)))))).numpy()
               for s in range(0, len(feats), batch)]
        self.train(was)
        return np.concatenate(out) if out else np.zeros((0, self.cfg.dim), np.float32)
