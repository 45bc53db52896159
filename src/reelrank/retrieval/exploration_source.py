"""Exploration: posts from outside the user's inferred interests, favouring the less-shown.

A random sample of the catalogue minus the user's strongest topics (top learned affinities,
onboarding, added and boosted topics) and minus what the user rejected (muted, or pushed away with
"not interested" / "see less"), ranked by a random draw damped by popularity, so rarely
shown posts get their chance. The exploration slots (policy/selectors/source_slot_selector.py)
put the best-scored of them on the page. Deterministic per request (seeded by user, session, page).
"""

from __future__ import annotations

import zlib

import numpy as np

from reelrank.domain import Surface
from reelrank.features.popularity import PopularityFeatures
from reelrank.pipeline.candidates import Retrieved
from reelrank.pipeline.context import FeedContext
from reelrank.state.catalogue import KIND_CODES, Catalogue

SAMPLE_FACTOR = 4  # posts drawn per candidate wanted (some are inactive or on the user's topics)
TOP_TOPICS = 3  # strongest learned topics counted as 'the user's interests'


REJECTED = -1.0  # affinity at or below this: the user pushed the topic away ("not interested", "see less")


def interest_topic_codes(ctx: FeedContext, top: int = TOP_TOPICS) -> set[int]:
    """The topics exploration stays away from: strongest learned ones plus every declared one."""
    learned = sorted(((a, t) for t, a in ctx.topic_affinity.items() if a > 0), reverse=True)[:top]
    return {t for _, t in learned} | ctx.interest_topics | ctx.added_topics | ctx.boosted_topics


def rejected_topic_codes(ctx: FeedContext) -> set[int]:
    """Topics exploration must not bring back either: muted, or pushed away by the user."""
    return {t for t, a in ctx.topic_affinity.items() if a <= REJECTED} | ctx.muted_topics


class ExplorationSource:
    name = "exploration"

    def __init__(self, catalogue: Catalogue, popularity: PopularityFeatures, k: int) -> None:
        self._cat = catalogue
        self._pop = popularity
        self._k = k

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        cat = self._cat
        n = cat.max_pid
        if self._k == 0 or n == 0:
            return Retrieved.empty()
        rng = np.random.default_rng([ctx.uid, zlib.crc32(ctx.session_id.encode()), len(ctx.served)])
        pids = np.unique(rng.integers(1, n + 1, size=min(n, self._k * SAMPLE_FACTOR)))
        keep = cat.active[pids]
        if ctx.surface is Surface.REELS:
            keep &= cat.kind[pids] == KIND_CODES["reel"]
        avoid = interest_topic_codes(ctx) | rejected_topic_codes(ctx)
        if avoid:
            keep &= ~np.isin(cat.primary_topic[pids], np.fromiter(avoid, dtype=np.int32, count=len(avoid)))
        pids = pids[keep]
        if len(pids) == 0:
            return Retrieved.empty()
        pop = self._pop.scores(pids, ctx.now)
        score = (rng.random(len(pids)) / (1.0 + np.log1p(pop))).astype(np.float32)
        if len(pids) > self._k:
            top = np.argpartition(-score, self._k - 1)[: self._k]
            pids, score = pids[top], score[top]
        return Retrieved(pids.astype(np.int64), score)
