"""The production ranker on top of the replayed funnel, for data sets without impressions (ML-1M).

ML-1M has no impressions to learn a ranker from, so the funnel makes them, on the training split only:

1. Training cases (`training_cases`): for a user, a time step inside the split's *training part*; the
   history is everything before it, the next `horizon` positive actions are the positives. Nothing
   after the training part (the validation and test targets) is ever read.
2. The funnel is replayed for those cases exactly as for evaluation (evaluation/funnel.py); its
   retrieved candidates are the "impressions": candidates among the positives are label 1; the
   funnel's own top other candidates (hard negatives) and a seeded sample of the rest are label 0.
3. Features are the production ranking features (ranking/ranking_features.py FEATURES, stacked by its
   `feature_matrix`) where they apply: the two-tower cosine (`learned`), content similarity and
   popularity from the formula scorer, the source bits, and the user-topic (genre) affinity, here
   the share of the history's positive actions that carry each of the candidate's genres (the
   engine's own affinity comes from a live online state the replay does not have). Freshness,
   position, counters (no impressions), creators and following are constant on ML-1M and left 0.
   The funnel's base score is a fixed sum of those same columns, so it adds nothing the model lacks.
4. The production multi-task ranker (training/ranker.py `train_ranker`) learns on them; only its
   `like` head is used (ML-1M ratings are imported as likes).
5. Validation and test cases' funnel candidates are re-ranked by the like head's logit plus
   `blend` x the funnel's own score; the feature set (VARIANTS) and `blend` (BLENDS, 0 = the ranker
   alone) are picked on the validation split. Metrics are the same as every other row, over the
   same candidate lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reelrank.evaluation.funnel import RECORDED, FunnelOutput, candidate_ranking
from reelrank.evaluation.metrics import Ranking, accuracy
from reelrank.evaluation.split import Case
from reelrank.labels.labeller import HEADS
from reelrank.models.sequence import Tokens
from reelrank.ranking.calibration import auc, ece
from reelrank.ranking.ranker_model import RankerBundle
from reelrank.ranking.ranking_features import FEATURES, feature_matrix
from reelrank.state.catalogue import Catalogue
from reelrank.training.ranker import RankerTrainConfig, train_ranker
from reelrank.training.ranker_data import RankerData

BLENDS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
# Feature sets tried (features zeroed in training and scoring). The two-tower model was trained on the
# very targets the training cases use, so its cosine is sharper on them than on unseen validation or
# test targets; the second variant leaves it out of the ranker and lets the blend add the funnel's
# score (which contains it) back, at a weight picked on validation.
VARIANTS: dict[str, tuple[str, ...]] = {"all features": (), "without the two-tower cosine": ("learned",)}
LIKE = HEADS.index("like")
USED_SIGNALS = ("similarity", "popularity")  # of RECORDED; freshness is constant on imported catalogues


@dataclass(frozen=True)
class TrainCase:
    case: Case  # history: a prefix of the user's training sequence; target: the first positive after it
    positives: np.ndarray  # (k,) pids of the next k positive actions, target first


@dataclass
class RankerEvalOptions:
    per_user: int = 2  # time steps per training user
    horizon: int = 3  # positives per time step: the next `horizon` positive actions
    min_history: int = 5  # positive actions a history must have
    negatives: int = 100  # sampled non-positive candidates per training case, anywhere in the list
    hard_negatives: int = 50  # plus the funnel's own top non-positive candidates (what the ranker must reorder)
    train: RankerTrainConfig = field(default_factory=lambda: RankerTrainConfig(epochs=4, threads=1))
    seed: int = 0


def training_cases(train: dict[int, Tokens], opt: RankerEvalOptions) -> list[TrainCase]:
    """Time steps at the end of each user's training part, `horizon` positives apart, most recent first.

    Only `train` (the split's training part) is read, so no validation or test target can appear.
    """
    out: list[TrainCase] = []
    for uid in sorted(train):
        t = train[uid]
        pos = np.flatnonzero(t.positive)
        for k in range(opt.per_user):
            j = len(pos) - opt.horizon * (k + 1)  # index into pos of the step's first positive
            if j < opt.min_history:
                break
            step = int(pos[j])
            out.append(TrainCase(Case(uid, t.head(step), int(t.pids[step])),
                                 t.pids[pos[j : j + opt.horizon]].astype(np.int64)))
    return out


class GenreAffinity:
    """User-genre affinity from a history: the share of its positive actions carrying each genre."""

    def __init__(self, catalogue: Catalogue, n_posts: int) -> None:
        n_topics = len(catalogue.topics) + 1
        self.member = np.zeros((n_posts, n_topics), np.float32)  # (P, T) 1 where the post has the genre
        for pid, codes in catalogue.post_topics.items():
            if pid < n_posts:
                self.member[pid, list(codes)] = 1.0
        self.member[:, 0] = 0.0
        counts = self.member.sum(1, keepdims=True)
        self.share = self.member / np.maximum(counts, 1.0)  # (P, T) rows sum to 1 (or 0)

    def of(self, history: Tokens, pids: np.ndarray) -> np.ndarray:
        """(n,) mean over each candidate's genres of the history's share with that genre."""
        liked = history.pids[history.positive]
        liked = liked[liked < len(self.member)]
        if len(liked) == 0 or len(pids) == 0:
            return np.zeros(len(pids), np.float32)
        profile = self.member[liked].mean(0)  # (T,)
        return (self.share[np.minimum(pids, len(self.share) - 1)] @ profile).astype(np.float32)


def features(out: FunnelOutput, i: int, history: Tokens, genres: GenreAffinity,
             source_names: Sequence[str]) -> np.ndarray:
    """(n, F) production ranking features of case i's candidates (position 0, as served)."""
    pids, n = out.pids[i], len(out.pids[i])
    cols: dict[str, np.ndarray] = {"learned": out.learned[i], "topic_affinity": genres.of(history, pids)}
    for name in USED_SIGNALS:
        cols[name] = out.signals[i][:, RECORDED.index(name)]
    for bit, src in enumerate(source_names):
        cols[f"f:src_{src}"] = ((out.sources[i] >> np.uint32(bit)) & 1).astype(np.float32)
    return feature_matrix(cols, n)


def examples(out: FunnelOutput, cases: Sequence[TrainCase], funnel_scores: Sequence[np.ndarray],
             genres: GenreAffinity, source_names: Sequence[str], opt: RankerEvalOptions) -> RankerData:
    """Funnel candidates of the training cases -> labelled rows: the positives, the funnel's top
    `hard_negatives` other candidates and `negatives` more sampled from the rest."""
    rng = np.random.default_rng(opt.seed)
    xs, ys = [], []
    for i, tc in enumerate(cases):
        label = np.isin(out.pids[i], tc.positives)
        neg = np.flatnonzero(~label)
        neg = neg[np.argsort(-funnel_scores[i][neg], kind="stable")]  # the funnel's order
        hard, rest = neg[: opt.hard_negatives], neg[opt.hard_negatives :]
        keep = np.concatenate([np.flatnonzero(label), hard,
                               rng.choice(rest, min(opt.negatives, len(rest)), replace=False)]).astype(np.int64)
        xs.append(features(out, i, tc.case.history, genres, source_names)[keep])
        y = np.zeros((len(keep), len(HEADS) + 1), np.float32)
        y[:, LIKE] = label[keep]
        y[:, -1] = label[keep]  # a liked movie counts as watched
        ys.append(y)
    x = np.concatenate(xs) if xs else feature_matrix({}, 0)
    y_all = np.concatenate(ys) if ys else np.zeros((0, len(HEADS) + 1), np.float32)
    return RankerData(x, y_all, np.zeros(len(x)))


@dataclass
class Scored:
    logits: list[np.ndarray]  # per case (n,) like-head logit
    labels: np.ndarray  # all candidates' labels (target = 1), concatenated
    probs: np.ndarray  # the like head's probabilities, concatenated


def score_cases(bundle: RankerBundle, out: FunnelOutput, cases: Sequence[Case], genres: GenreAffinity,
                source_names: Sequence[str], drop: tuple[str, ...] = ()) -> Scored:
    logits, labels, probs = [], [], []
    cols = [FEATURES.index(f) for f in drop]
    for i, c in enumerate(cases):
        x = features(out, i, c.history, genres, source_names)
        x[:, cols] = 0.0
        p = bundle.ranker.predict(x)["like"].astype(np.float64)
        p = np.clip(p, 1e-12, 1 - 1e-12)
        logits.append(np.log(p) - np.log1p(-p))
        labels.append(out.pids[i] == c.target)
        probs.append(p)
    return Scored(logits, _cat(labels), _cat(probs))


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def blended(scored: Scored, funnel_scores: Sequence[np.ndarray], blend: float) -> list[np.ndarray]:
    return [lg + blend * f for lg, f in zip(scored.logits, funnel_scores, strict=True)]


def fit_and_rank(train_out: FunnelOutput, train_cases: Sequence[TrainCase], valid_out: FunnelOutput,
                 valid: Sequence[Case], test_out: FunnelOutput, test: Sequence[Case], learned_weight: float,
                 genres: GenreAffinity, source_names: Sequence[str], opt: RankerEvalOptions,
                 progress: bool = True) -> tuple[Ranking, dict[str, Any]]:
    """Train each VARIANT on the training cases, pick (variant, blend) on validation, rank the test cases."""
    data = examples(train_out, train_cases, train_out.scores(learned_weight), genres, source_names, opt)
    fv, ft = valid_out.scores(learned_weight), test_out.scores(learned_weight)
    tuned: dict[str, dict[float, float]] = {}
    best: tuple[float, str, float, RankerBundle | None, Scored | None] = (-1.0, "", 0.0, None, None)
    for name, drop in VARIANTS.items():
        trained = train_ranker(_dropped(data, drop), opt.train, progress=progress)
        scored = score_cases(trained, valid_out, valid, genres, source_names, drop)
        tuned[name] = {b: accuracy(candidate_ranking(valid, valid_out.pids, blended(scored, fv, b)).ranks)[
            "ndcg@10"] for b in BLENDS}
        b = max(tuned[name], key=lambda k: tuned[name][k])
        if tuned[name][b] > best[0]:
            best = (tuned[name][b], name, b, trained, scored)
    _, variant, blend, bundle, sv = best
    assert bundle is not None and sv is not None
    st = score_cases(bundle, test_out, test, genres, source_names, VARIANTS[variant])
    ranking = candidate_ranking(test, test_out.pids, blended(st, ft, blend))
    notes = {"train_cases": len(train_cases), "train_rows": len(data),
             "train_positive_share": round(float(data.y[:, LIKE].mean()), 4) if len(data) else 0.0,
             "variant": variant, "blend": blend, "valid_ndcg@10": tuned,
             "like_head_valid": {"auc": auc(sv.labels, sv.probs), "ece": ece(sv.labels, sv.probs)},
             "like_head_test": {"auc": auc(st.labels, st.probs), "ece": ece(st.labels, st.probs)},
             "options": {"per_user": opt.per_user, "horizon": opt.horizon, "min_history": opt.min_history,
                         "negatives": opt.negatives, "hard_negatives": opt.hard_negatives,
                         "epochs": opt.train.epochs, "hidden": list(opt.train.hidden)}}
    return ranking, notes


def _dropped(data: RankerData, drop: tuple[str, ...]) -> RankerData:
    if not drop:
        return data
    x = data.x.copy()
    x[:, [FEATURES.index(f) for f in drop]] = 0.0
    return RankerData(x, data.y, data.ts)
