"""`reelrank eval`: one split, one run, every method side by side.

1. Read the store's logs and split them leave-one-out (evaluation/split.py).
2. Train the two-tower model on the training part, early-stopping on validation (or reuse one an
   earlier `--publish` run trained on this same split: evaluation/retrieval_model.py).
3. Retrieval stage alone: user tower over the history, inner product with every post's item-tower
   vector (exact, over the whole catalogue; the serving ANN approximates this ranking).
4. Funnel: the engine's pipeline replayed per case (evaluation/funnel.py); the learned-similarity
   weight is picked on validation from WEIGHTS.
5. Baselines fitted on the same inputs: most-popular, item co-occurrence, ALS (implicit; a small
   grid picked on validation).
6. With `ranker`: the production ranker trained on funnel candidates of training-part cases and
   re-ranking the funnel's candidates (evaluation/ranker_eval.py), next to the funnel's own order.
7. Test-split metrics for all, plus coverage, intra-list diversity and popularity bias of the top 10.
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
from reelrank.evaluation.ranker_eval import GenreAffinity, RankerEvalOptions, fit_and_rank, training_cases
from reelrank.evaluation.report import Report
from reelrank.evaluation.retrieval_model import SPLIT_TAG, RetrievalModel, load_model, train_model
from reelrank.evaluation.split import Case, leave_one_out
from reelrank.index.ann_index import AnnIndex
from reelrank.models.config import TwoTowerConfig
from reelrank.models.registry import ModelRegistry
from reelrank.training.dataset import load_log_data
from reelrank.training.export import export_model

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
    model_version: str | None = None  # reuse this version (published by an earlier eval run) instead of training
    ranker: bool = False  # also train the ranker on funnel candidates and re-rank (needs funnel)
    ranker_opt: RankerEvalOptions = field(default_factory=RankerEvalOptions)
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
    model = _retrieval_model(engine, data, split.train, valid, opt)
    item_vecs = model.item_vecs  # (P, D)
    u_valid, u_test = model.user_vectors(valid), model.user_vectors(test)
    rankings: dict[str, Ranking] = {
        "two-tower retrieval": _ranked("retrieval", lambda r: u_test[r] @ item_vecs.T, test, catalogue)}
    notes: dict[str, Any] = {"users_evaluated": len(test), "catalogue": len(catalogue),
                             "train_cases": len(split.train), "training": model.summary,
                             "train_seconds": model.train_s, "model_version": model.version,
                             "config": model.model.cfg.to_json()}
    if opt.funnel:
        index = AnnIndex(model.model.cfg.dim, engine.settings.index, capacity=len(catalogue) + 16)
        index.add(catalogue, item_vecs[catalogue])
        replay = FunnelReplay(engine, index, engine.settings.models.two_tower_k)
        f_valid = replay.run(valid, u_valid, opt.progress)
        tuned = {w: accuracy(f_valid.ranking(valid, w).ranks)["ndcg@10"] for w in WEIGHTS}
        best_w = max(tuned, key=lambda w: tuned[w])
        f_test = replay.run(test, u_test, opt.progress)
        rankings["funnel (before page policy)"] = f_test.ranking(test, best_w)
        notes["funnel"] = {"learned_weight": best_w, "valid_ndcg@10_by_weight": tuned,
                           "two_tower_k": engine.settings.models.two_tower_k,
                           "content_ann_k": engine.settings.sources.ann_k}
        if opt.ranker:
            t0 = time.time()
            tcases = training_cases(split.train, opt.ranker_opt)
            if opt.max_users and len(tcases) > opt.max_users * opt.ranker_opt.per_user:
                keep = np.random.default_rng(opt.cfg.seed).choice(len(tcases), opt.max_users * opt.ranker_opt.per_user,
                                                                  replace=False)
                tcases = [tcases[i] for i in np.sort(keep)]
            tqdm.write(f"ranker: funnel replay of {len(tcases)} training-part cases")
            f_train = replay.run([tc.case for tc in tcases], model.user_vectors([tc.case for tc in tcases]),
                                 opt.progress)
            rankings["funnel + ranker"], notes["ranker"] = fit_and_rank(
                f_train, tcases, f_valid, valid, f_test, test, best_w, GenreAffinity(engine.catalogue, n_items),
                replay.source_names(), opt.ranker_opt, opt.progress)
            notes["ranker"]["seconds"] = time.time() - t0
    if opt.baselines:
        rankings.update(_baselines(valid, test, n_items, catalogue, notes))
    counts = np.asarray(interaction_matrix(test, n_items).sum(0)).ravel()
    pct = popularity_percentiles(counts, catalogue)
    report = Report(opt.dataset, notes=notes)
    for name, rk in rankings.items():
        report.rows[name] = {**accuracy(rk.ranks), "coverage@10": coverage(rk.top, len(catalogue)),
                             "diversity@10": intra_list_diversity(rk.top, data.content),
                             "popularity@10": popularity_bias(rk.top, pct)}
    if "funnel + ranker" in report.rows:
        ranked, funnel_row = report.rows["funnel + ranker"], report.rows["funnel (before page policy)"]
        notes["ranker"]["test_gain_over_funnel_order"] = {
            m: ranked[m] - funnel_row[m] for m in ("hr@10", "ndcg@10", "hr@100")}
    notes["wall_seconds"] = time.time() - t_start
    return report


def _retrieval_model(engine: Engine, data: Any, train: dict[int, Any], valid: list[Case],
                     opt: EvalOptions) -> RetrievalModel:
    registry = ModelRegistry.for_data_dir(engine.settings.data_dir)
    if opt.model_version:
        if opt.cfg.threads > 0:
            import torch

            torch.set_num_threads(opt.cfg.threads)
        tqdm.write(f"reusing model {opt.model_version} (trained on this split's training part)")
        return load_model(registry, opt.model_version, data, train)
    model = train_model(data, opt.cfg, train, valid, opt.progress)
    if opt.publish:
        version, _ = export_model(
            registry, model.model.cfg, model.model, model.item_vecs, data.post_ids, data.active,
            [data.post_ids[p] for p in np.flatnonzero(model.known_posts)],
            [u.user_id for i, u in enumerate(data.users) if u is not None and model.known_users[i]],
            {"split": SPLIT_TAG, **model.summary}, data.window.as_dict())
        model.version = version
        tqdm.write(f"published the evaluated model as {version} (reuse it with --model-version {version})")
    return model


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
