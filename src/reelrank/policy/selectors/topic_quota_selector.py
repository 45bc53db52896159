"""Topic quota: at most `max_share` of a page from one primary topic (0.3 of 10 = 3 posts).

The quota is applied to the whole incoming list, not only its first k, so whatever later selectors
(creator spacing) pick from it still respects it. Posts over the quota are dropped ('topic_quota');
only when the list runs out before the page is full do they come back, after the others and best
first ('topic_quota_relaxed'): a short page is worse than a fourth post on one topic."""

from __future__ import annotations

import math

import numpy as np

from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.components import Move, Selection
from reelrank.pipeline.context import FeedContext
from reelrank.policy.selectors.slots import SLOT_COLUMN
from reelrank.state.catalogue import Catalogue


def topic_cap(max_share: float, k: int) -> int:
    return max(1, math.floor(max_share * k + 1e-9))


class TopicQuotaSelector:
    name = "topic_quota"

    def __init__(self, catalogue: Catalogue, max_share: float) -> None:
        self._cat = catalogue
        self._max_share = max_share

    def select(self, ctx: FeedContext, cands: Candidates, order: np.ndarray, k: int) -> Selection:
        if self._max_share >= 1.0 or len(order) == 0:
            return Selection(order)
        cap = topic_cap(self._max_share, k)
        topics = self._cat.primary_topic[cands.pids[order]].tolist()
        slots = cands.columns.get(SLOT_COLUMN)
        visit: list[int] = list(range(len(order)))
        if slots is not None:  # posts filling a reserved slot use their topic's budget first
            slotted = slots[order] > 0
            visit = [i for i in visit if slotted[i]] + [i for i in visit if not slotted[i]]
        counts: dict[int, int] = {}
        keep = np.zeros(len(order), dtype=bool)
        for i in visit:
            t = topics[i]
            c = counts.get(t, 0)
            if t == 0 or c < cap:  # topic 0: the post has none, no quota applies
                keep[i] = True
                counts[t] = c + 1
        kept = order[keep]
        dropped = np.asarray([i for i in visit if not keep[i]], dtype=np.int64)  # slotted first, then in order
        short = len(kept) < k
        if short:  # not enough variety to fill the page: the over-quota posts follow, best first
            kept = np.concatenate([kept, order[dropped]])
        moves: list[Move] = []
        if ctx.explain:
            n_kept = int(keep.sum())
            for j, pos in enumerate(dropped.tolist()):
                pid = int(cands.pids[order[pos]])
                if not short:
                    moves.append(Move(pid, "dropped", "topic_quota", pos, None))
                else:
                    to = n_kept + j
                    moves.append(Move(pid, "moved", "topic_quota_relaxed" if to < k else "topic_quota", pos, to))
        return Selection(kept, moves)
