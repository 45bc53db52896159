"""Interaction sequences as the two-tower model reads them, identical in training and serving.

An event's interest weight (features/signals.py) decides what it is to the model:

* positive engagement (completed or long view, like, comment, share, save, follow: weight >= 0.5)
  is a training target and a sequence token;
* negative feedback (quick-skip view, skip, not interested, hide, report: weight < 0) is a token
  the user tower sees and, in training, an unlikelihood target (the model learns to score it low);
* anything in between (a partial view, an impression) says too little and is dropped.

Consecutive events on the same post (a completed view, then a like, then a share) are one action:
their weights add up. The token's *kind* is a bucket of that weight, because serving-side session
state (features/interest.py) keeps each action's weight, not its event kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

POSITIVE_MIN = 0.5  # weights in [0, POSITIVE_MIN) are neither positive nor negative
MAX_WEIGHT = 3.0  # one merged action never counts more than this in the loss
N_KINDS = 6  # 0 = padding, 1..5 = the buckets below (the BOS token has its own embedding)


def kind_of(weight: float) -> int:
    """Weight bucket -> token kind; 0 means 'not a token'."""
    if weight <= -1.0:
        return 1  # not interested, hide, report
    if weight < 0.0:
        return 2  # skip, quick skip
    if weight < POSITIVE_MIN:
        return 0
    if weight < 1.0:
        return 3  # long view
    if weight < 1.5:
        return 4  # completion, like, comment, follow
    return 5  # share, save, or several positive actions on one post


@dataclass(frozen=True, slots=True)
class Tokens:
    """One user's actions in time order: (n,) arrays."""

    pids: np.ndarray  # (n,) int64
    kinds: np.ndarray  # (n,) int64 in 1..N_KINDS-1
    weights: np.ndarray  # (n,) float32, signed and clipped to +-MAX_WEIGHT

    def __len__(self) -> int:
        return len(self.pids)

    @property
    def positive(self) -> np.ndarray:
        """(n,) bool: which tokens are positive engagement."""
        return self.weights > 0

    def head(self, n: int) -> Tokens:
        return Tokens(self.pids[:n], self.kinds[:n], self.weights[:n])

    def tail(self, n: int) -> Tokens:
        n = min(n, len(self))
        return Tokens(self.pids[len(self) - n :], self.kinds[len(self) - n :], self.weights[len(self) - n :])

    @classmethod
    def empty(cls) -> Tokens:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))


def tokenize(actions: Iterable[tuple[int, float]]) -> Tokens:
    """(pid, weight) in time order -> tokens: same-post runs merged, neutral actions dropped."""
    pids: list[int] = []
    weights: list[float] = []
    last = -1
    for pid, w in actions:
        if pid <= 0:
            continue
        if pid == last:
            weights[-1] += w
        else:
            pids.append(pid)
            weights.append(w)
            last = pid
    keep = [i for i, w in enumerate(weights) if kind_of(w) > 0]
    p = np.asarray([pids[i] for i in keep], dtype=np.int64)
    w_arr = np.clip(np.asarray([weights[i] for i in keep], dtype=np.float32), -MAX_WEIGHT, MAX_WEIGHT)
    k = np.asarray([kind_of(float(x)) for x in w_arr], dtype=np.int64)
    return Tokens(p, k, w_arr)
