"""Ranking and beyond-accuracy metrics on cases small enough to compute by hand."""

from __future__ import annotations

import math

import numpy as np

from reelrank.evaluation.metrics import (
    accuracy,
    coverage,
    intra_list_diversity,
    popularity_bias,
    popularity_percentiles,
    rank_cases,
)
from reelrank.evaluation.split import Case
from reelrank.models.sequence import tokenize


def case(uid: int, history: list[int], target: int) -> Case:
    return Case(uid, tokenize([(p, 1.0) for p in history]), target)


def test_ranks_exclude_history_and_non_catalogue_items() -> None:
    scores = np.array([[0.0, 0.9, 0.8, 0.7, 0.6, 0.95]])  # pid 0 is padding, pid 5 is not in the catalogue
    cases = [case(1, [1], 3)]  # pid 1 (best) is history: excluded
    r = rank_cases(lambda rows: scores[rows], cases, np.array([1, 2, 3, 4]))
    assert r.ranks.tolist() == [2.0]  # only pid 2 beats the target
    assert r.top[0, :3].tolist() == [2, 3, 4] and (r.top[0, 3:] == -1).all()


def test_hr_ndcg_mrr_by_hand() -> None:
    m = accuracy(np.array([1.0, 3.0, 20.0, np.inf]), ks=(10, 100))
    assert m["hr@10"] == 0.5 and m["hr@100"] == 0.75
    assert math.isclose(m["ndcg@10"], (1.0 + 1.0 / math.log2(4.0)) / 4)
    assert math.isclose(m["mrr"], (1.0 + 1 / 3 + 1 / 20) / 4)


def test_ties_count_half() -> None:
    scores = np.array([[0.0, 1.0, 1.0, 1.0, 0.0]])
    r = rank_cases(lambda rows: scores[rows], [case(1, [], 2)], np.array([1, 2, 3, 4]))
    assert r.ranks.tolist() == [2.0]  # two others tie with the target: rank 1 + 2/2


def test_coverage_diversity_popularity() -> None:
    top = np.array([[1, 2, -1], [1, 3, -1]])
    assert coverage(top, 10) == 0.3
    vecs = np.zeros((4, 2), np.float32)
    vecs[1], vecs[2], vecs[3] = [1, 0], [1, 0], [0, 1]
    assert math.isclose(intra_list_diversity(top, vecs), 0.5)  # identical pair: 0, orthogonal pair: 1
    pct = popularity_percentiles(np.array([0, 10, 5, 1]), np.array([1, 2, 3]))
    assert pct[1] > pct[2] > pct[3]
    assert math.isclose(popularity_bias(np.array([[1, 3]]), pct), (pct[1] + pct[3]) / 2)
