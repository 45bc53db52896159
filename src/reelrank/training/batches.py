"""Sequences -> training windows -> length-bucketed, right-aligned batches.

A window of m actions a_1..a_m becomes inputs [BOS, a_1, ..., a_{m-1}] and targets [a_1, ..., a_m]:
the output at each input position predicts the next action (a positive to retrieve, or a negative
to push down). Sequences longer than max_len are cut into consecutive windows from the end, so
every action is a target once per epoch. Batches group windows of similar length (shuffled within
pools of 50 batches) so little compute goes to padding.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from reelrank.models.sequence import Tokens

POOL_BATCHES = 50


@dataclass(frozen=True, slots=True)
class Window:
    uid: int
    tokens: Tokens  # m <= max_len actions


@dataclass(frozen=True, slots=True)
class Batch:
    uids: np.ndarray  # (B,) int64
    in_pids: np.ndarray  # (B, L) int64, 0 at padding and BOS
    in_kinds: np.ndarray  # (B, L) int64
    valid: np.ndarray  # (B, L) bool: BOS and real inputs
    tgt_pids: np.ndarray  # (B, L) int64, 0 where there is no target
    tgt_weights: np.ndarray  # (B, L) float32: > 0 positive, < 0 explicit negative, 0 none

    @property
    def n_targets(self) -> int:
        return int((self.tgt_weights != 0).sum())


def make_windows(seqs: dict[int, Tokens], max_len: int) -> list[Window]:
    out: list[Window] = []
    for uid in sorted(seqs):
        t = seqs[uid]
        end = len(t)
        while end > 0:
            start = max(0, end - max_len)
            out.append(Window(uid, Tokens(t.pids[start:end], t.kinds[start:end], t.weights[start:end])))
            end = start
    return out


def collate(windows: list[Window]) -> Batch:
    n = max(len(w.tokens) for w in windows)
    b = len(windows)
    in_pids, in_kinds = np.zeros((b, n), np.int64), np.zeros((b, n), np.int64)
    tgt_pids, tgt_w = np.zeros((b, n), np.int64), np.zeros((b, n), np.float32)
    valid = np.zeros((b, n), bool)
    for i, w in enumerate(windows):
        t, m = w.tokens, len(w.tokens)
        s = n - m  # BOS slot
        valid[i, s:] = True
        in_pids[i, s + 1 :], in_kinds[i, s + 1 :] = t.pids[:-1], t.kinds[:-1]
        tgt_pids[i, s:], tgt_w[i, s:] = t.pids, t.weights
    uids = np.fromiter((w.uid for w in windows), dtype=np.int64, count=b)
    return Batch(uids, in_pids, in_kinds, valid, tgt_pids, tgt_w)


def iterate_batches(windows: list[Window], batch_size: int, rng: np.random.Generator) -> Iterator[Batch]:
    """One epoch: shuffle, sort by length inside pools, shuffle the batches."""
    order = rng.permutation(len(windows))
    pool = batch_size * POOL_BATCHES
    batches: list[np.ndarray] = []
    for s in range(0, len(order), pool):
        chunk = order[s : s + pool]
        chunk = chunk[np.argsort([len(windows[i].tokens) for i in chunk], kind="stable")]
        batches.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    for k in rng.permutation(len(batches)):
        yield collate([windows[i] for i in batches[k]])


def target_frequencies(windows: list[Window], n_items: int) -> np.ndarray:
    """(P,) share of positive targets per pid: the in-batch sampling distribution p_j."""
    counts = np.zeros(n_items, np.float64)
    for w in windows:
        pos = w.tokens.weights > 0
        np.add.at(counts, w.tokens.pids[pos], 1.0)
    total = counts.sum()
    return counts / total if total > 0 else counts
