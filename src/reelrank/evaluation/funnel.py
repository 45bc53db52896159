"""Replays the engine's feed funnel offline, for every evaluation case, up to (not including) page policy.

"Funnel" here is exactly the production pipeline definition (pipeline/definitions.py, surface
reels) run by the production executor, with page policy switched off (no MMR, slots, quotas or
creator spacing) and no source deadlines (so a slow machine cannot drop a source):

  sources   content ANN (query = the long-term + session interest vector, built by the engine's
            InterestFeatures from the case's history) | two-tower ANN (user tower over the history)
            | popular in region (engagement counted over the phase's inputs) | followed creators,
            fresh posts, chosen topics (empty for imported data)
  filters   the safety filters, surface, seen (= the case's history)
  scorers   the formula scorer (content similarity, popularity, freshness, following), topic
            preferences, then the learned-similarity scorer (+ weight * two-tower cosine)

The output is the scored candidate list ordered by score. Because the learned scorer is additive
and runs last, the replay records each candidate's score without it and its two-tower cosine, so
the weight can be tuned on the validation split without re-running the funnel. It also records the
formula's signal columns (RECORDED) and each candidate's source bits, the ranker's inputs
(evaluation/ranker_eval.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from reelrank.domain import Surface
from reelrank.engine import Engine
from reelrank.evaluation.metrics import TOP_K, Ranking
from reelrank.evaluation.split import Case
from reelrank.features.interest import Interaction, InterestFeatures
from reelrank.features.popularity import PopularityFeatures
from reelrank.index.ann_index import AnnIndex
from reelrank.models.query import ModelQuery
from reelrank.pipeline.context import FeedContext
from reelrank.pipeline.definitions import FunnelDeps, build_pipeline
from reelrank.pipeline.executor import PipelineExecutor
from reelrank.state.online.memory import MemoryOnlineState

DEPTH = 100  # page size asked of the pipeline (HR@100 needs the top 100; all candidates are kept anyway)
RECORDED = ("similarity", "popularity", "freshness")  # formula signal columns kept per candidate


@dataclass
class FunnelOutput:
    pids: list[np.ndarray]  # per case: (n,) candidate pids
    base: list[np.ndarray]  # (n,) score before the learned scorer
    learned: list[np.ndarray]  # (n,) two-tower cosine
    signals: list[np.ndarray] = field(default_factory=list)  # (n, len(RECORDED)) float32
    sources: list[np.ndarray] = field(default_factory=list)  # (n,) uint32 bit i = source_names()[i]

    def scores(self, weight: float) -> list[np.ndarray]:
        """Per case (n,) the funnel's score with the learned scorer at `weight`."""
        return [b.astype(np.float64) + weight * c for b, c in zip(self.base, self.learned, strict=True)]

    def ranking(self, cases: Sequence[Case], weight: float) -> Ranking:
        return candidate_ranking(cases, self.pids, self.scores(weight))


def candidate_ranking(cases: Sequence[Case], pids: Sequence[np.ndarray], scores: Sequence[np.ndarray]) -> Ranking:
    """Ranks of each case's target among its candidates by score (ties count half, absent = inf)."""
    ranks = np.full(len(cases), np.inf)
    top = np.full((len(cases), TOP_K), -1, np.int64)
    for i, c in enumerate(cases):
        s = np.asarray(scores[i], dtype=np.float64)
        order = np.argsort(-s, kind="stable")
        top[i, : min(TOP_K, len(order))] = pids[i][order[:TOP_K]]
        hit = np.flatnonzero(pids[i] == c.target)
        if len(hit):
            ranks[i] = 1.0 + float((s > s[hit[0]]).sum()) + ((s == s[hit[0]]).sum() - 1) / 2.0
    return Ranking(ranks, top)


class FunnelReplay:
    def __init__(self, engine: Engine, model_index: AnnIndex, two_tower_k: int) -> None:
        s = engine.settings.model_copy(deep=True)
        s.policy.reels.enabled = False  # the funnel's output before page policy
        s.models.enabled = True  # the two-tower source is part of the funnel (the CLI's engine has it off)
        s.sources.deadline_ms = 1e9  # offline: never drop a source for being slow
        s.models.two_tower_k = two_tower_k
        s.models.learned_weight = 0.0  # the replay records the learned column; the weight is applied later
        self._engine = engine
        self._settings = s
        self._model_index = model_index
        self._interest = InterestFeatures(MemoryOnlineState(), engine.index, s.encoder.dim, s.interest)

    def source_names(self) -> list[str]:
        e = self._engine
        deps = FunnelDeps(self._settings, e.catalogue, e.accounts, e.index, PopularityFeatures())
        return [src.name for src in build_pipeline(Surface.REELS, deps).sources]

    def run(self, cases: Sequence[Case], user_vecs: np.ndarray, progress: bool = True) -> FunnelOutput:
        e, now = self._engine, time.time()
        pop = PopularityFeatures(t0=now)
        profiles = e.accounts.profiles
        pop.add([(int(p), 1.0, now, profiles[c.uid].region) for c in cases
                 for p in c.history.pids[c.history.positive] if c.uid in profiles])
        deps = FunnelDeps(self._settings, e.catalogue, e.accounts, e.index, pop)
        pipe = build_pipeline(Surface.REELS, deps)
        out = FunnelOutput([], [], [])
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="eval-source") as pool:
            executor = PipelineExecutor(pool)
            for i, c in enumerate(tqdm(cases, desc="funnel replay", unit="user", disable=not progress,
                                       mininterval=1.0)):
                res = executor.run(pipe, self._context(c, user_vecs[i], now))
                cands = res.cands
                score = cands.columns.get("score", np.zeros(len(cands), np.float32))
                learned = cands.columns.get("learned", np.zeros(len(cands), np.float32))
                out.pids.append(cands.pids.copy())  # every scored candidate: any weight's order can be rebuilt
                out.base.append(score.astype(np.float32))
                out.learned.append(learned.astype(np.float32))
                zero = np.zeros(len(cands), np.float32)
                out.signals.append(np.stack([cands.columns.get(k, zero) for k in RECORDED], axis=1)
                                   .astype(np.float32))
                out.sources.append(cands.sources.astype(np.uint32))
        return out

    def _context(self, c: Case, user_vec: np.ndarray, now: float) -> FeedContext:
        e, h = self._engine, c.history
        self._interest.clear(c.uid)
        ts = now - len(h) + np.arange(len(h), dtype=np.float64)  # in order, ending now (no decay to speak of)
        self._interest.apply([Interaction(c.uid, int(p), float(w), float(t))
                              for p, w, t in zip(h.pids, h.weights, ts, strict=True)])
        query, session = self._interest.query(c.uid)
        user = e.accounts.profiles[c.uid]
        return FeedContext(
            uid=c.uid, user=user, surface=Surface.REELS, page_size=DEPTH, now=now, session_id=f"eval-{c.uid}",
            query=query, session=session, following=e.graph.following(c.uid),
            hidden_creators=e.graph.hidden_creators(c.uid), seen=np.unique(c.exclude),
            served=np.zeros(0, np.int64),
            model_query=ModelQuery("eval", user_vec.astype(np.float32), self._model_index),
        )
