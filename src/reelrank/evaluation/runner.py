"""`reelrank eval`: one split, one run, every method side by side.

1. Read the store's logs and split them leave-one-out (evaluation/split.py).
2. Train the two-tower model on the training part, early-stopping on validation.
3. Retrieval stage alone: user tower over the history, inner product with every post's item-tower
   vector (exact, over the whole catalogue; the serving ANN approximates this ranking).
4. Funnel: the engine's pipeline replayed per case (evaluation/funnel.py); the learned-similarity
   weight is picked on validation from WEIGHTS.
5. Baselines fitted on the same inputs: most-popular, item co-occurrence, ALS (implicit; a small
   grid picked on validation).
6. Test-split metrics for all, plus coverage, intra-list diversity and popularity bias of the top 10.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from reelrank.engine import Engine
from reelrank.evaluation.baselines import ImplicitAls, ItemCooccurrence, MostPopular, interaction_matrix
from reelrank.evaluation.funnel import FunnelReplay
from reelrank.evaluation.metrics import (
    Ranking,
    accuracy,
    coverage,
    intra_list_diversity,
    popularity_bias,
    popularity_percentiles,
    rank_cases,
)
from reelrank.evaluation.report import Report
from reelrank.evaluation.split import Case, leave_one_out
from reelrank.index.ann_index import AnnIndex
from reelrank.models.config import TwoTowerConfig
from reelrank.models.registry import ModelRegistry
from reelrank.training.dataset import load_log_data
from reelrank.training.export import export_model
from reelrank.training.retrieval import fit_on

WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
ALS_GRID = ((64, 0.05, 10.0), (128, 0.05, 10.0), (128, 0.5, 2.0))  # factors, regularization, alpha


@dataclass
class EvalOptions:
    cfg: TwoTowerConfig = field(default_factory=TwoTowerConfig)
    out: Path = Path("reports/eval")
    dataset: str = "store"
    baselines: bool = True
    funnel: bool = True
    max_users: int = 0  # 0 = all; otherwise a seeded sample of evaluation users (quick runs)
    publish: bool = False  # also write the evaluated model as a version in the store's registry
    progress: bool = True


def _ranked(name: str, fn: Any, cases: list[Case], catalogue: np.ndarray) -> Ranking:
    tqdm.write(f"ranking {len(cases)} cases: {name}")
    return rank_cases(fn, cases, catalogue)


def run_eval(engine: Engine, opt: EvalOptions) -> Report:
    t_start = time.time()
    data = load_log_data(engine.records, engine.settings.encoder.dim, progress=opt.progress)
    split = leave_one_out(data.seqs)
    valid, test = split.valid, split.test
    if opt.max_users and len(test) > opt.max_users:
        pick = np.sort(np.random.default_rng(opt.cfg.seed).choice(len(test), opt.max_users, replace=False))
        valid, test = [valid[i] for i in pick], [test[i] for i in pick]
    catalogue = np.flatnonzero(data.active)
    n_items = data.n_items
    t0 = time.time()
    trainer, result, known_posts, known_users = fit_on(data, opt.cfg, split.train, valid, opt.progress)
    train_s = time.time() - t0
    item_vecs = trainer.item_vectors()  # (P, D)
    if opt.publish:
        version, _ = export_model(
            ModelRegistry.for_data_dir(engine.settings.data_dir), opt.cfg, trainer.model, item_vecs, data.post_ids,
            data.active, [data.post_ids[p] for p in np.flatnonzero(known_posts)],
            [u.user_id for i, u in enumerate(data.users) if u is not None and known_users[i]],
            {"split": "leave-one-out train part", **result.summary()}, data.window.as_dict())
        tqdm.write(f"published the evaluated model as {version}")
    u_valid, u_test = trainer.user_vectors(valid, item_vecs), trainer.user_vectors(test, item_vecs)
    rankings: dict[str, Ranking] = {
        "two-tower retrieval": _ranked("retrieval", lambda r: u_test[r] @ item_vecs.T, test, catalogue)}
    notes: dict[str, Any] = {"users_evaluated": len(test), "catalogue": len(catalogue),
                             "train_cases": len(split.train), "training": result.summary(),
                             "train_seconds": train_s, "config": opt.cfg.to_json()}
    if opt.funnel:
        index = AnnIndex(opt.cfg.dim, engine.settings.index, capacity=len(catalogue) + 16)
        index.add(catalogue, item_vecs[catalogue])
        replay = FunnelReplay(engine, index, engine.settings.models.two_tower_k)
        f_valid = replay.run(valid, u_valid, opt.progress)
        tuned = {w: accuracy(f_valid.ranking(valid, w).ranks)["ndcg@10"] for w in WEIGHTS}
        best_w = max(tuned, key=lambda w: tuned[w])
        rankings["funnel (before page policy)"] = replay.run(test, u_test, opt.progress).ranking(test, best_w)
        notes["funnel"] = {"learned_weight": best_w, "valid_ndcg@10_by_weight": tuned,
                           "two_tower_k": engine.settings.models.two_tower_k,
                           "content_ann_k": engine.settings.sources.ann_k}
    if opt.baselines:
        rankings.update(_baselines(valid, test, n_items, catalogue, notes))
    counts = np.asarray(interaction_matrix(test, n_items).sum(0)).ravel()
    pct = popularity_percentiles(counts, catalogue)
    report = Report(opt.dataset, notes=notes)
    for name, rk in rankings.items():
        report.rows[name] = {**accuracy(rk.ranks), "coverage@10": coverage(rk.top, len(catalogue)),
                             "diversity@10": intra_list_diversity(rk.top, data.content),
                             "popularity@10": popularity_bias(rk.top, pct)}
    notes["wall_seconds"] = time.time() - t_start
    return report


def _baselines(valid: list[Case], test: list[Case], n_items: int, catalogue: np.ndarray,
               notes: dict[str, Any]) -> dict[str, Ranking]:
    out: dict[str, Ranking] = {}
    for model in (MostPopular(), ItemCooccurrence()):
        m = model.fit(test, n_items)
        out[model.name] = _ranked(model.name, m.scores, test, catalogue)
    best, best_score = ALS_GRID[0], -1.0
    for factors, reg, alpha in ALS_GRID:
        als = ImplicitAls(factors=factors, regularization=reg, alpha=alpha).fit(valid, n_items)
        score = accuracy(_ranked(f"als {factors}/{reg}/{alpha} (valid)", als.scores, valid, catalogue).ranks)["ndcg@10"]
        if score > best_score:
            best, best_score = (factors, reg, alpha), score
    als = ImplicitAls(factors=best[0], regularization=best[1], alpha=best[2]).fit(test, n_items)
    out["als (implicit)"] = _ranked("als", als.scores, test, catalogue)
    notes["als"] = {"factors": best[0], "regularization": best[1], "alpha": best[2], "valid_ndcg@10": best_score}
    return out
