"""The ranker evaluation: training examples come from the training part only; the run is well-formed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from reelrank.engine import Engine
from reelrank.evaluation.ranker_eval import BLENDS, VARIANTS, RankerEvalOptions, training_cases
from reelrank.evaluation.retrieval_model import load_model
from reelrank.evaluation.runner import EvalOptions, run_eval
from reelrank.evaluation.split import leave_one_out
from reelrank.models.registry import ModelRegistry
from reelrank.models.sequence import tokenize
from reelrank.training.dataset import load_log_data
from reelrank.training.ranker import RankerTrainConfig
from reelrank.training.retrieval import train_retrieval
from tests.conftest import make_settings
from tests.training.test_two_tower_world import small_config
from tests.training.world import build_world


def test_training_examples_never_use_a_validation_or_test_target() -> None:
    rng = np.random.default_rng(0)
    seqs = {}
    for uid in range(1, 40):
        n = int(rng.integers(3, 30))
        pids = rng.integers(1, 50, n).tolist()  # shared pool: repeats and overlaps between users
        weights = np.where(rng.random(n) < 0.2, -1.0, 1.0).tolist()  # some skips
        # the last two positives (validation, test targets) are posts no training action touches
        acts = [*zip(pids, weights, strict=True), (1000 + 2 * uid, 1.0), (1001 + 2 * uid, 1.0), (7, -1.0)]
        seqs[uid] = tokenize(acts)
    split = leave_one_out(seqs)
    held_out = {c.target for c in split.valid} | {c.target for c in split.test}
    assert held_out and min(held_out) >= 1000
    opt = RankerEvalOptions(per_user=3, horizon=2, min_history=1)
    cases = training_cases(split.train, opt)
    assert len(cases) > 20
    for tc in cases:
        full = split.train[tc.case.uid].pids
        h = len(tc.case.history)
        assert tc.case.history.pids.tolist() == full[:h].tolist()  # a prefix of the training part
        assert tc.case.target == tc.positives[0] == full[h]
        assert set(tc.positives.tolist()) <= set(full[h:].tolist())  # positives come after it, inside it
        assert not (set(tc.positives.tolist()) | set(tc.case.history.pids.tolist())) & held_out
    per_user = np.bincount([tc.case.uid for tc in cases])
    assert per_user.max() <= opt.per_user


def _world(tmp_path: Path) -> Engine:
    e = Engine(make_settings(tmp_path / "data"))
    build_world(e, n_users=32, likes=14)
    return e


def _options(tmp_path: Path, **kw: object) -> EvalOptions:
    opt = EvalOptions(cfg=small_config(epochs=3), out=tmp_path / "out", dataset="world", baselines=False,
                      progress=False, ranker=True,
                      ranker_opt=RankerEvalOptions(negatives=20, train=RankerTrainConfig(epochs=2, threads=1)))
    for k, v in kw.items():
        setattr(opt, k, v)
    return opt


def test_eval_with_ranker_runs_end_to_end_and_reuses_the_published_model(tmp_path: Path) -> None:
    e = _world(tmp_path)
    try:
        first = run_eval(e, _options(tmp_path, publish=True))
        version = first.notes["model_version"]
        again = run_eval(e, _options(tmp_path, model_version=version))
    finally:
        e.close()
    assert version == "v0001"
    assert again.notes["train_seconds"] == 0.0 and again.notes["model_version"] == version
    for report in (first, again):
        rows = report.rows
        assert set(rows) == {"two-tower retrieval", "funnel (before page policy)", "funnel + ranker"}
        for m in rows.values():
            assert 0.0 <= m["ndcg@10"] <= m["hr@10"] <= m["hr@100"] <= 1.0
            assert 0.0 < m["coverage@10"] <= 1.0
        r = report.notes["ranker"]
        assert r["blend"] in BLENDS and r["variant"] in VARIANTS
        assert r["train_cases"] > 0 and 0 < r["train_positive_share"] < 1
        assert 0.0 <= r["like_head_test"]["auc"] <= 1.0 and not math.isnan(r["like_head_valid"]["ece"])
    # the reused model scores exactly as the one just trained
    assert again.rows["two-tower retrieval"] == first.rows["two-tower retrieval"]
    assert again.rows["funnel + ranker"] == first.rows["funnel + ranker"]
    files = again.write(tmp_path / "out")
    assert "funnel + ranker" in files[0].read_text()


def test_a_production_model_is_refused_for_evaluation(tmp_path: Path) -> None:
    e = _world(tmp_path)
    try:
        registry = ModelRegistry.for_data_dir(e.settings.data_dir)
        trained = train_retrieval(e.records, e.settings.encoder.dim, registry, small_config(epochs=1),
                                  progress=False)
        data = load_log_data(e.records, e.settings.encoder.dim, progress=False)
    finally:
        e.close()
    with pytest.raises(ValueError, match="leak"):
        load_model(registry, trained.version, data, leave_one_out(data.seqs).train)


def test_examples_label_the_positives_and_keep_the_funnels_top_negatives() -> None:
    from reelrank.evaluation.funnel import RECORDED, FunnelOutput
    from reelrank.evaluation.ranker_eval import LIKE, TrainCase, examples
    from reelrank.evaluation.split import Case
    from reelrank.ranking.ranking_features import FEATURES

    class NoGenres:
        def of(self, history: object, pids: np.ndarray) -> np.ndarray:
            return np.full(len(pids), 0.25, np.float32)

    pids = np.arange(10, 30, dtype=np.int64)  # 20 candidates
    learned = np.linspace(1.0, 0.0, 20).astype(np.float32)  # funnel order = candidate order
    out = FunnelOutput([pids], [np.zeros(20, np.float32)], [learned],
                       [np.ones((20, len(RECORDED)), np.float32)], [np.full(20, 0b10, np.uint32)])
    tc = TrainCase(Case(1, tokenize([(5, 1.0)]), 15), np.asarray([15, 27, 99]))  # 99 was not retrieved
    opt = RankerEvalOptions(negatives=4, hard_negatives=3)
    data = examples(out, [tc], out.scores(1.0), NoGenres(), ["ann", "two_tower"], opt)  # type: ignore[arg-type]
    assert len(data) == 2 + 3 + 4 and data.y[:, LIKE].sum() == 2 and data.y[:2, LIKE].tolist() == [1.0, 1.0]
    learned_col = data.x[:, FEATURES.index("learned")]
    assert learned_col[2:5].tolist() == learned[[0, 1, 2]].tolist()  # the funnel's top 3 non-positives
    assert set(learned_col[5:].tolist()) <= set(learned[3:].tolist())
    assert (data.x[:, FEATURES.index("src_two_tower")] == 1).all() and (data.x[:, FEATURES.index("src_ann")] == 0).all()
    assert (data.x[:, FEATURES.index("topic_affinity")] == 0.25).all()
    assert (data.x[:, FEATURES.index("position")] == 0).all() and (data.x[:, FEATURES.index("freshness")] == 0).all()
