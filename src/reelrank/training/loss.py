"""Sampled softmax with mixed negatives and logQ correction.

Each query (a user-tower output) has one target. The softmax runs over the target plus a shared set
of sampled negatives: K positives of other queries in the batch (so item j turns up with probability
p_j, its share of positive targets: popular items are over-sampled) and M items drawn uniformly
from the catalogue (probability 1/N each, so the long tail is seen too).

Sampled softmax estimates the full softmax only if every logit is corrected by the log of how often
its item is expected among the samples (Bengio & Senecal 2008; Yi et al. 2019, "sampling-bias-
corrected neural modeling"):  s_j = <u, v_j> / tau - log E[count_j],  E[count_j] = K p_j + M / N.
Without it, popular items are pushed down for being sampled often: the model learns popularity-free
scores and ranks popular targets too low. Negatives equal to the query's own target ("accidental
hits") are masked out.

Positive targets (weight w > 0) add  w * -log softmax(target).  Explicit negatives (skips, not
interested; w < 0) add the unlikelihood term  |w| * -log(1 - softmax(target))  over the same logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class NegativeSampler:
    """Draws the shared negatives of one batch and knows their sampling probabilities."""

    freq: Tensor  # (P,) float64: p_j, share of positive targets per pid
    catalogue: Tensor  # (N,) int64: pids eligible as uniform negatives
    in_batch: int  # K
    uniform: int  # M

    def log_q(self, pids: Tensor) -> Tensor:
        """(n,) pids -> (n,) log expected count among the K + M negatives."""
        n = max(len(self.catalogue), 1)
        q = self.in_batch * self.freq[pids] + self.uniform / n
        return torch.log(q.clamp(min=1e-12)).float()

    def sample(self, pos_rows: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """-> (rows into the batch's positive queries (K,), uniform pids (M,))."""
        k = torch.randint(len(pos_rows), (self.in_batch,), generator=generator) if len(pos_rows) else pos_rows[:0]
        m = self.catalogue[torch.randint(len(self.catalogue), (self.uniform,), generator=generator)]
        return pos_rows[k], m


def sampled_softmax_loss(
    queries: Tensor,  # (n, D) user vectors, one per target
    target_vecs: Tensor,  # (n, D) item vectors of the targets
    target_ids: Tensor,  # (n,) pids
    weights: Tensor,  # (n,) > 0 positive, < 0 explicit negative
    neg_vecs: Tensor,  # (C, D) shared negatives
    neg_ids: Tensor,  # (C,) pids
    temperature: Tensor | float,
    target_log_q: Tensor | None = None,  # (n,) logQ corrections; None = no correction
    neg_log_q: Tensor | None = None,  # (C,)
    negative_scale: float = 1.0,
) -> Tensor:
    pos = (queries * target_vecs).sum(-1) / temperature  # (n,)
    neg = queries @ neg_vecs.T / temperature  # (n, C)
    if target_log_q is not None and neg_log_q is not None:
        pos = pos - target_log_q
        neg = neg - neg_log_q[None, :]
    neg = neg.masked_fill(neg_ids[None, :] == target_ids[:, None], float("-inf"))  # accidental hits
    lse_all = torch.logsumexp(torch.cat([pos[:, None], neg], 1), 1)  # (n,)
    is_pos = weights > 0
    loss = torch.zeros_like(pos)
    loss = torch.where(is_pos, weights * (lse_all - pos), loss)  # -w log p
    if (~is_pos).any():
        lse_neg = torch.logsumexp(neg, 1).clamp(min=-1e4)
        unlikely = (lse_all - lse_neg).clamp(max=20.0)  # -log(1 - p), capped where p -> 1
        loss = torch.where(is_pos, loss, negative_scale * weights.abs() * unlikely)
    norm = torch.where(is_pos, weights, negative_scale * weights.abs()).sum().clamp(min=1e-6)
    return loss.sum() / norm
