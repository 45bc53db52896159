"""Reference recommenders, fitted on exactly the input the learned model sees for each phase.

* MostPopular: training-interaction counts, the same list for everyone.
* ItemCooccurrence: item-to-item cosine over the user-item matrix; a user's score for a post is the
  recency-weighted sum (0.95 per step back) of its cosine to the posts in their history.
* ImplicitAls: alternating least squares for implicit feedback (the `implicit` library), confidence
  = 1 + alpha * interactions; hyper-parameters picked on the validation split.

Each exposes `fit(cases, n_items)` and `scores(rows) -> (b, P)`; row i of `cases` is the case the
scores are for. Only positive actions count as interactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from reelrank.evaluation.split import Case

RECENCY = 0.95


def interaction_matrix(cases: Sequence[Case], n_items: int) -> sp.csr_matrix:
    """(C, P) binary matrix of each case's positive history."""
    rows, cols = [], []
    for i, c in enumerate(cases):
        p = np.unique(c.history.pids[c.history.positive])
        rows.append(np.full(len(p), i))
        cols.append(p)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    k = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return sp.csr_matrix((np.ones(len(r), np.float32), (r, k)), shape=(len(cases), n_items))


class MostPopular:
    name = "most-popular"

    def fit(self, cases: Sequence[Case], n_items: int) -> MostPopular:
        self.counts = np.asarray(interaction_matrix(cases, n_items).sum(0)).ravel().astype(np.float64)  # (P,)
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(rows), len(self.counts)))


class ItemCooccurrence:
    name = "item-cooccurrence"

    def fit(self, cases: Sequence[Case], n_items: int) -> ItemCooccurrence:
        x = interaction_matrix(cases, n_items)  # (C, P)
        co = (x.T @ x).tocsr().astype(np.float64)  # (P, P) co-occurrence counts
        n = np.sqrt(np.asarray(x.sum(0)).ravel()) + 1e-9  # (P,)
        co = sp.diags(1.0 / n) @ co @ sp.diags(1.0 / n)  # cosine
        co.setdiag(0.0)
        self.sim = co.tocsr()
        self.cases = cases
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        w_rows, cols, vals = [], [], []
        for j, r in enumerate(rows):
            h = self.cases[r].history
            pids = h.pids[h.positive][::-1]  # newest first
            w_rows.append(np.full(len(pids), j))
            cols.append(pids)
            vals.append(RECENCY ** np.arange(len(pids)))
        w = sp.csr_matrix((np.concatenate(vals), (np.concatenate(w_rows), np.concatenate(cols))),
                          shape=(len(rows), self.sim.shape[0]))  # (b, P) recency weights (repeats add up)
        return np.asarray((w @ self.sim).todense())  # (b, P)


@dataclass
class ImplicitAls:
    factors: int = 64
    regularization: float = 0.05
    alpha: float = 10.0
    iterations: int = 15
    seed: int = 0
    threads: int = 1

    @property
    def name(self) -> str:
        return "als"

    def fit(self, cases: Sequence[Case], n_items: int) -> ImplicitAls:
        from implicit.cpu.als import AlternatingLeastSquares  # optional dependency (the `ml` extra)
        from threadpoolctl import threadpool_limits

        x = interaction_matrix(cases, n_items) * self.alpha  # (C, P) confidence - 1
        with threadpool_limits(1, "blas"):  # implicit parallelises itself; a BLAS pool on top thrashes
            model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                            iterations=self.iterations, random_state=self.seed,
                                            num_threads=self.threads, calculate_training_loss=False)
            model.fit(x.tocsr(), show_progress=False)
        self.user_factors = np.asarray(model.user_factors)  # (C, F)
        self.item_factors = np.asarray(model.item_factors)  # (P, F)
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors[rows] @ self.item_factors.T  # (b, F) @ (F, P)
