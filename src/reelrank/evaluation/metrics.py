"""Ranking metrics over the whole catalogue, and beyond-accuracy metrics of the top-10 lists.

rank = 1 + (eligible posts scored above the target) + (posts tied with it) / 2, so a scorer that
gives many posts the same score (most-popular with equal counts) is neither flattered nor punished.
A target the scorer cannot rank at all (score -inf: not among a funnel's candidates) has rank inf.

HR@k = share of cases with rank <= k; NDCG@k = mean of 1 / log2(rank + 1) for those (one relevant
post, so IDCG = 1); MRR = mean of 1 / rank over all cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reelrank.evaluation.split import Case

ScoreFn = Callable[[np.ndarray], np.ndarray]  # case rows (b,) -> (b, P) scores, row = pid
TOP_K = 10


@dataclass
class Ranking:
    ranks: np.ndarray  # (C,) float64, inf when the target was not ranked
    top: np.ndarray  # (C, TOP_K) int64 pids, -1 padding


def rank_cases(score_fn: ScoreFn, cases: Sequence[Case], catalogue: np.ndarray, batch: int = 512) -> Ranking:
    """Score every case over the catalogue (pids), excluding each case's history."""
    catalogue = np.asarray(catalogue, dtype=np.int64)
    ranks = np.full(len(cases), np.inf)
    top = np.full((len(cases), TOP_K), -1, np.int64)
    for s in range(0, len(cases), batch):
        rows = np.arange(s, min(s + batch, len(cases)))
        sc = np.asarray(score_fn(rows), dtype=np.float64)  # (b, P)
        eligible = np.zeros(sc.shape[1], bool)
        eligible[catalogue[catalogue < sc.shape[1]]] = True
        sc = np.where(eligible[None, :], sc, -np.inf)
        for j, r in enumerate(rows):
            sc[j, cases[int(r)].exclude] = -np.inf
        targets = np.fromiter((cases[int(r)].target for r in rows), dtype=np.int64, count=len(rows))
        t_score = sc[np.arange(len(rows)), targets]  # (b,)
        above = (sc > t_score[:, None]).sum(1)
        ties = (sc == t_score[:, None]).sum(1) - 1
        ranks[rows] = np.where(np.isfinite(t_score), 1.0 + above + ties / 2.0, np.inf)
        k = min(TOP_K, sc.shape[1])
        part = np.argpartition(-sc, k - 1, axis=1)[:, :k]  # (b, k)
        order = np.argsort(-np.take_along_axis(sc, part, 1), axis=1, kind="stable")
        best = np.take_along_axis(part, order, 1)
        ok = np.isfinite(np.take_along_axis(sc, best, 1))
        top[rows, :k] = np.where(ok, best, -1)
    return Ranking(ranks, top)


def accuracy(ranks: np.ndarray, ks: Sequence[int] = (10, 100)) -> dict[str, float]:
    out: dict[str, float] = {}
    if len(ranks) == 0:
        return out
    for k in ks:
        hit = ranks <= k
        out[f"hr@{k}"] = float(hit.mean())
        if k == 10:
            out["ndcg@10"] = float(np.where(hit, 1.0 / np.log2(ranks + 1.0), 0.0).mean())
    out["mrr"] = float((1.0 / ranks).mean())
    return out


def coverage(top: np.ndarray, n_catalogue: int) -> float:
    """Share of the catalogue that appears in anyone's top list."""
    items = np.unique(top[top > 0])
    return float(len(items) / max(n_catalogue, 1))


def intra_list_diversity(top: np.ndarray, vectors: np.ndarray) -> float:
    """Mean pairwise (1 - cosine) of the content vectors within each top list, averaged over lists."""
    vals = []
    for row in top:
        pids = row[row > 0]
        if len(pids) < 2:
            continue
        v = vectors[pids]  # (k, Dc)
        sim = v @ v.T  # (k, k)
        k = len(pids)
        vals.append(1.0 - (sim.sum() - np.trace(sim)) / (k * (k - 1)))
    return float(np.mean(vals)) if vals else 0.0


def popularity_percentiles(counts: np.ndarray, catalogue: np.ndarray) -> np.ndarray:
    """(P,) each catalogue post's popularity percentile in [0, 1] (1 = most engaged), by training counts."""
    cat = np.asarray(catalogue, dtype=np.int64)
    pct = np.zeros(len(counts))
    order = np.argsort(counts[cat], kind="stable")
    pct[cat[order]] = (np.arange(len(cat)) + 0.5) / max(len(cat), 1)
    return pct


def popularity_bias(top: np.ndarray, percentiles: np.ndarray) -> float:
    """Mean popularity percentile of recommended posts: 0.5 is popularity-neutral, 1.0 only the head."""
    got = top[top > 0]
    return float(percentiles[got].mean()) if len(got) else 0.0


def full_ranking_metrics(score_fn: ScoreFn, cases: Sequence[Case], catalogue: np.ndarray,
                         ks: Sequence[int] = (10, 100)) -> dict[str, float]:
    """Accuracy only (used for validation during training)."""
    return accuracy(rank_cases(score_fn, cases, catalogue).ranks, ks)
