"""Sampled softmax with mixed negatives: the logQ correction, accidental hits, the unlikelihood term."""

from __future__ import annotations

import math

import numpy as np
import torch

from reelrank.training.loss import NegativeSampler, sampled_softmax_loss


def test_log_q_is_the_log_expected_count_among_the_negatives() -> None:
    freq = torch.tensor([0.0, 0.5, 0.25, 0.25], dtype=torch.float64)
    s = NegativeSampler(freq, torch.tensor([1, 2, 3]), in_batch=4, uniform=2)
    got = s.log_q(torch.tensor([1, 2, 3])).numpy()
    want = np.log([4 * 0.5 + 2 / 3, 4 * 0.25 + 2 / 3, 4 * 0.25 + 2 / 3])
    assert np.allclose(got, want, atol=1e-6)


def test_accidental_hits_are_masked_and_positive_loss_is_cross_entropy() -> None:
    q = torch.tensor([[1.0, 0.0]])
    tv = torch.tensor([[1.0, 0.0]])
    negs = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # the second negative is the target itself
    loss = sampled_softmax_loss(q, tv, torch.tensor([7]), torch.tensor([1.0]), negs, torch.tensor([3, 7]), 1.0)
    want = -math.log(math.e / (math.e + 1.0))  # softmax over [target (1), negative (0)]; the hit is gone
    assert abs(float(loss) - want) < 1e-6


def test_negative_targets_use_unlikelihood() -> None:
    q = torch.tensor([[1.0, 0.0]])
    tv = torch.tensor([[1.0, 0.0]])
    negs = torch.tensor([[0.0, 1.0]])
    loss = sampled_softmax_loss(q, tv, torch.tensor([7]), torch.tensor([-2.0]), negs, torch.tensor([3]), 1.0)
    p = math.e / (math.e + 1.0)
    assert abs(float(loss) - (-math.log(1.0 - p))) < 1e-5  # weight 2 is normalised away (one target)


def _fit_item_biases(log_q: bool, steps: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Items with Zipf popularity and no user signal: the full-softmax optimum is b_j = log p_j + c."""
    torch.set_num_threads(1)  # tiny tensors: thread hand-offs would cost more than the maths
    gen = torch.Generator().manual_seed(seed)
    n = 20
    p = 1.0 / np.arange(1, n + 1)
    p /= p.sum()
    freq = torch.from_numpy(p)
    sampler = NegativeSampler(freq, torch.arange(n), in_batch=32, uniform=0)
    bias = torch.zeros(n, requires_grad=True)
    for _ in range(steps):
        targets = torch.multinomial(freq, 256, replacement=True, generator=gen)  # (n_q,)
        rows, uniform = sampler.sample(torch.arange(256), gen)
        neg_ids = torch.cat([targets[rows], uniform])
        q = torch.ones(256, 1)
        loss = sampled_softmax_loss(q, bias[targets][:, None], targets, torch.ones(256), bias[neg_ids][:, None],
                                    neg_ids, 1.0, sampler.log_q(targets) if log_q else None,
                                    sampler.log_q(neg_ids) if log_q else None)
        bias.grad = None
        loss.backward()
        with torch.no_grad():
            bias -= 0.5 * bias.grad  # plain SGD
    return bias.detach().numpy(), np.log(p)


def test_logq_correction_recovers_popularity_that_in_batch_sampling_hides() -> None:
    corrected, logp = _fit_item_biases(log_q=True)
    raw, _ = _fit_item_biases(log_q=False)
    assert np.corrcoef(corrected, logp)[0, 1] > 0.95
    # uncorrected in-batch negatives over-sample popular items and flatten (or invert) their scores
    slope_raw = np.polyfit(logp, raw, 1)[0]
    slope_corrected = np.polyfit(logp, corrected, 1)[0]
    assert abs(slope_corrected - 1.0) < 0.25 and slope_raw < 0.5
