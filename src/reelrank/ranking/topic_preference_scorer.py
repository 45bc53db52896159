"""Moves the score by what the user said and did about topics ('Your Algorithm').

Runs after the main scorer and adjusts its `score` column:
  + boost_weight    if the post's primary topic is boosted,
  + added_weight    if it is a topic the user added,
  + affinity_weight * tanh(a / scale)   for a learned topic affinity a > 0,
  + dislike_weight  * tanh(a / scale)   for a < 0 ("not interested", "see less": pushed down harder).
Muted topics never reach scoring (MutedTopicsFilter). Each part is kept as its own column for
'why am I seeing this'.
"""

from __future__ import annotations

import numpy as np

from reelrank.config import ControlSettings
from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import Catalogue

CONTROL_SIGNALS = ("topic_affinity", "topic_boost", "topic_added")


class TopicPreferenceScorer:
    name = "topic_preference"

    def __init__(self, catalogue: Catalogue, settings: ControlSettings) -> None:
        self._cat = catalogue
        self._s = settings

    def score(self, ctx: FeedContext, cands: Candidates) -> None:
        n = len(cands)
        prim = self._cat.primary_topic[cands.pids]
        aff = np.zeros(n, dtype=np.float32)
        boost = np.zeros(n, dtype=np.float32)
        added = np.zeros(n, dtype=np.float32)
        if ctx.topic_affinity and n:
            lut = np.zeros(max(max(ctx.topic_affinity), int(prim.max())) + 1, dtype=np.float32)
            for code, a in ctx.topic_affinity.items():
                if code > 0:
                    lut[code] = a
            aff = np.tanh(lut[prim] / self._s.affinity_scale).astype(np.float32)
        if ctx.boosted_topics:
            boost = np.isin(prim, list(ctx.boosted_topics)).astype(np.float32)
        if ctx.added_topics:
            added = np.isin(prim, list(ctx.added_topics)).astype(np.float32)
        s = self._s
        adjust = np.where(aff > 0, s.affinity_weight * aff, s.dislike_weight * aff) + s.boost_weight * boost \
            + s.added_weight * added
        cands.columns.update(topic_affinity=aff, topic_boost=boost, topic_added=added)
        base = cands.columns.get("score")
        cands.columns["score"] = (adjust if base is None else base + adjust).astype(np.float32)
