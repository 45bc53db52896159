"""Trains the two-tower model: sampled softmax over mixed negatives, early stopping on validation.

Each step calls the model's forward (both towers over the batch: `self.net`, the model itself or its
DistributedDataParallel wrapper under torchrun, training/distributed.py), then the loss. Deterministic
for a seed on CPU (seeded torch + numpy generators, fixed batch order). Progress bars show the loss,
the learned temperature and throughput (targets per second).
"""

from __future__ import annotations

import copy
import resource
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from reelrank.evaluation.metrics import full_ranking_metrics
from reelrank.evaluation.split import Case
from reelrank.models.config import TwoTowerConfig
from reelrank.models.features import ItemFeatures, UserFeatures
from reelrank.models.sequence import Tokens
from reelrank.models.two_tower import TwoTowerModel, to_tensors
from reelrank.models.user_encoder import UserEncoder, dense_lookup
from reelrank.training.batches import Batch, iterate_batches, make_windows, target_frequencies
from reelrank.training.loss import NegativeSampler, sampled_softmax_loss
from reelrank.training.optim import AdamW


@dataclass
class TrainResult:
    model: TwoTowerModel
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_valid: dict[str, float] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0

    def summary(self) -> dict[str, Any]:
        secs = self.epoch_seconds
        return {"best_epoch": self.best_epoch, "valid": self.best_valid, "epochs_run": len(secs),
                "epoch_seconds_median": float(np.median(secs)) if secs else 0.0,
                "temperature": float(self.model.temperature.detach()), "peak_rss_mb": self.peak_rss_mb,
                "history": self.history}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


class Trainer:
    """items: features of every pid (row = pid); users: features of every uid (row = uid)."""

    def __init__(self, cfg: TwoTowerConfig, items: ItemFeatures, users: UserFeatures, catalogue: np.ndarray,
                 train: dict[int, Tokens], valid: list[Case] | None = None) -> None:
        self.cfg = cfg
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.model = TwoTowerModel(cfg)
        # What the training step calls: the model itself, or a DistributedDataParallel wrapper around it
        # (training/distributed.py). Evaluation and export use self.model.
        self.net: torch.nn.Module = self.model
        self.items, self.users = items, users
        self.item_t, self.user_t = to_tensors(items), to_tensors(users)
        self.windows = make_windows(train, cfg.max_len)
        freq = torch.from_numpy(target_frequencies(self.windows, len(items)))
        cat = torch.from_numpy(np.asarray(catalogue, dtype=np.int64))  # (N,) pids eligible as negatives
        self.sampler = NegativeSampler(freq, cat, cfg.in_batch_negatives, cfg.uniform_negatives)
        self.valid = valid or []
        self.opt = AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    # -- one step --------------------------------------------------------------------------------
    def step(self, b: Batch) -> tuple[float, int]:
        bsz, n = b.in_pids.shape
        tgt_mask = torch.from_numpy(b.tgt_weights != 0)  # (B, L)
        in_pids, tgt_pids = torch.from_numpy(b.in_pids), torch.from_numpy(b.tgt_pids)
        pos_rows_all = torch.nonzero(torch.from_numpy(b.tgt_weights[b.tgt_weights != 0] > 0)).squeeze(1)
        in_batch_rows, uniform = self.sampler.sample(pos_rows_all, self.gen)
        uniq, inv = torch.unique(torch.cat([in_pids.flatten(), tgt_pids.flatten(), uniform]), return_inverse=True)
        uids = torch.from_numpy(b.uids)
        out, vecs, temperature = self.net({k: v[uniq] for k, v in self.item_t.items()},  # U unique pids
                                          {k: v[uids] for k, v in self.user_t.items()},
                                          inv[: bsz * n].view(bsz, n), torch.from_numpy(b.in_kinds),
                                          torch.from_numpy(b.valid))  # (B, L, D), (U, D), ()
        tgt_vecs = vecs[inv[bsz * n : 2 * bsz * n]].view(bsz, n, -1)  # (B, L, D)
        uni_vecs = vecs[inv[2 * bsz * n :]]  # (M, D)
        q, tv, tid = out[tgt_mask], tgt_vecs[tgt_mask], tgt_pids[tgt_mask]  # (T, D), (T, D), (T,)
        w = torch.from_numpy(b.tgt_weights)[tgt_mask]  # (T,)
        neg_vecs = torch.cat([tv[in_batch_rows], uni_vecs])  # (K + M, D)
        neg_ids = torch.cat([tid[in_batch_rows], uniform])  # (K + M,)
        log_q = self.cfg.logq_correction
        loss = sampled_softmax_loss(
            q, tv, tid, w, neg_vecs, neg_ids, temperature,
            self.sampler.log_q(tid) if log_q else None, self.sampler.log_q(neg_ids) if log_q else None,
            negative_scale=self.cfg.negative_weight)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return float(loss.detach()), len(tid)

    # -- loop ------------------------------------------------------------------------------------
    def fit(self, progress: bool = True) -> TrainResult:
        cfg = self.cfg
        res = TrainResult(self.model)
        best_state, best_score, bad = None, -1.0, 0
        for epoch in range(1, cfg.epochs + 1):
            self.net.train()
            t0, seen, total = time.perf_counter(), 0, 0.0
            n_batches = -(-len(self.windows) // cfg.batch_size)
            bar = tqdm(iterate_batches(self.windows, cfg.batch_size, self.rng), total=n_batches,
                       desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", disable=not progress, mininterval=0.5)
            for i, batch in enumerate(bar):
                loss, n = self.step(batch)
                seen += n
                total += loss
                if i % 5 == 0:
                    rate = seen / max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix(loss=f"{total / (i + 1):.3f}", tau=f"{float(self.model.temperature.detach()):.3f}",
                                    tgt_s=f"{rate:,.0f}")
            bar.close()
            secs = time.perf_counter() - t0
            res.epoch_seconds.append(secs)
            row: dict[str, float] = {"epoch": epoch, "loss": total / max(n_batches, 1), "seconds": secs,
                                     "targets_per_s": seen / max(secs, 1e-9),
                                     "temperature": float(self.model.temperature.detach())}
            if self.valid:
                row.update({f"valid_{k}": v for k, v in self.evaluate(self.valid).items()})
                score = row["valid_ndcg@10"]
                if score > best_score:
                    best_score, bad, res.best_epoch = score, 0, epoch
                    best_state = copy.deepcopy(self.model.state_dict())
                    res.best_valid = {k[6:]: v for k, v in row.items() if k.startswith("valid_")}
                else:
                    bad += 1
            res.history.append(row)
            if progress:
                tqdm.write("  ".join(f"{k}={v:.4g}" for k, v in row.items()))
            if cfg.patience and bad >= cfg.patience:
                break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        else:
            res.best_epoch = len(res.epoch_seconds)
        self.net.eval()
        res.peak_rss_mb = peak_rss_mb()
        return res

    def item_vectors(self) -> np.ndarray:
        vecs = self.model.item_vectors(self.items)  # (P, D)
        vecs[0] = 0.0
        return vecs

    def user_vectors(self, cases: list[Case], item_vecs: np.ndarray) -> np.ndarray:
        """(C, D) user-tower outputs for each case's history."""
        enc = UserEncoder(self.model, dense_lookup(item_vecs))
        users = self.users.take(np.asarray([c.uid for c in cases], dtype=np.int64))
        return enc.encode(users, [c.history for c in cases])

    def evaluate(self, cases: list[Case]) -> dict[str, float]:
        items = self.item_vectors()  # (P, D)
        u = self.user_vectors(cases, items)  # (C, D)
        return full_ranking_metrics(lambda rows: u[rows] @ items.T, cases, self.sampler.catalogue.numpy(),
                                    ks=(10,))
