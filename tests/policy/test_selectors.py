"""Page-policy selectors in isolation: topic quota, reserved slots, and the whole chain."""

from __future__ import annotations

import types
from collections import Counter
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reelrank.domain import Surface, User
from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.components import Selector
from reelrank.pipeline.context import FeedContext
from reelrank.policy.selectors.creator_spacing_selector import CreatorSpacingSelector
from reelrank.policy.selectors.mmr_selector import MmrSelector
from reelrank.policy.selectors.slots import slot_count, slot_positions, source_mask
from reelrank.policy.selectors.source_slot_selector import (
    ExplorationSlotSelector,
    FreshSlotSelector,
    TrendSlotSelector,
)
from reelrank.policy.selectors.topic_quota_selector import TopicQuotaSelector, topic_cap

SOURCES = ["ann", "fresh", "exploration", "trending"]
FRESH, EXPLORE, TREND = (source_mask(SOURCES, n) for n in ("fresh", "exploration", "trending"))


def ctx(k: int = 10) -> FeedContext:
    return FeedContext(uid=1, user=User(user_id="u"), surface=Surface.REELS, page_size=k, now=0.0, session_id="s",
                       query=None, session=[], following=set(), hidden_creators=set(),
                       seen=np.zeros(0, np.int64), served=np.zeros(0, np.int64), explain=True)


class Vectors:
    def __init__(self, topics: np.ndarray) -> None:
        self._topics = topics

    def vectors(self, pids: np.ndarray) -> np.ndarray:
        v = np.zeros((len(pids), 16), np.float32)
        v[np.arange(len(pids)), self._topics[pids] % 16] = 1.0  # one direction per topic
        return v


def world(topics: list[int], creators: list[int], sources: list[int],
          scores: list[float]) -> tuple[Any, Candidates, np.ndarray]:
    """A stand-in catalogue (the two columns the selectors read), candidates and their score order."""
    n = len(topics)
    cat = types.SimpleNamespace(primary_topic=np.asarray([0, *topics], np.int32),
                                creator=np.asarray([0, *creators], np.int64))
    cands = Candidates(np.arange(1, n + 1, dtype=np.int64), np.asarray(sources, np.uint32),
                       {"score": np.asarray(scores, np.float32)})
    order = np.argsort(-cands.columns["score"], kind="stable")
    return cat, cands, order


candidate_sets = st.integers(1, 80).flatmap(lambda n: st.tuples(
    st.lists(st.integers(1, 6), min_size=n, max_size=n),
    st.lists(st.integers(1, 12), min_size=n, max_size=n),
    st.lists(st.sampled_from([1, 1, 1, FRESH | 1, EXPLORE, TREND, TREND | FRESH]), min_size=n, max_size=n),
    st.lists(st.floats(0, 1), min_size=n, max_size=n),
))


def test_slot_arithmetic() -> None:
    assert [slot_count(0.1, k) for k in (4, 5, 10, 25)] == [0, 1, 1, 3]
    assert slot_positions(10, 1, 0.7) == [7] and slot_positions(25, 3, 0.2) == [1, 10, 18]
    assert source_mask(SOURCES, "trending") == 8 and source_mask(["ann"], "trending") == 0
    assert topic_cap(0.3, 10) == 3 and topic_cap(0.3, 25) == 7 and topic_cap(0.3, 2) == 1


def test_trend_slot_is_a_no_op_without_a_trending_source() -> None:
    _, cands, order = world([1, 2, 3], [1, 2, 3], [1, 1, 1], [0.9, 0.5, 0.1])
    sel = TrendSlotSelector(source_mask(["ann", "fresh"], "trending"), 0.5)
    assert sel.select(ctx(2), cands, order, 2).order.tolist() == order.tolist()


def test_slots_bring_an_eligible_post_to_its_reserved_position() -> None:
    # Ten relevant posts, and one low-scored exploration candidate the ranking alone would never show.
    _, cands, order = world([1] * 11, list(range(1, 12)), [1] * 10 + [EXPLORE], [1 - i / 20 for i in range(11)])
    sel = ExplorationSlotSelector(EXPLORE, 0.1).select(ctx(), cands, order, 10)
    assert sel.order[7] == 10 and len(sel.order) == 11
    assert [(m.action, m.reason, m.to_rank) for m in sel.moves] == [("moved", "exploration_slot", 7)]


@settings(max_examples=100, deadline=None)
@given(candidate_sets, st.integers(1, 25))
def test_topic_quota_holds_whenever_there_is_enough_variety(data, k: int) -> None:
    topics, creators, sources, scores = data
    cat, cands, order = world(topics, creators, sources, scores)
    out = TopicQuotaSelector(cat, 0.3).select(ctx(k), cands, order, k).order
    assert sorted(out.tolist()) == sorted(set(out.tolist())) and set(out.tolist()) <= set(order.tolist())
    cap = topic_cap(0.3, k)
    available = sum(min(c, cap) for c in Counter(topics).values())
    counts = Counter(cat.primary_topic[cands.pids[out[:k]]].tolist())
    if available >= k:
        assert max(counts.values()) <= cap, counts
    assert len(out[:k]) == min(k, len(order))  # never a short page when candidates are left


@settings(max_examples=100, deadline=None)
@given(candidate_sets, st.integers(1, 25))
def test_the_whole_chain_gives_a_full_page_of_unique_candidates(data, k: int) -> None:
    topics, creators, sources, scores = data
    cat, cands, order = world(topics, creators, sources, scores)
    chain: list[Selector] = [MmrSelector(Vectors(cat.primary_topic), 0.7, 200), TrendSlotSelector(TREND, 0.1),
                             FreshSlotSelector(FRESH, 0.1), ExplorationSlotSelector(EXPLORE, 0.1),
                             TopicQuotaSelector(cat, 0.3), CreatorSpacingSelector(cat, 3)]
    c = ctx(k)
    for sel in chain:
        order = sel.select(c, cands, order, k).order
    page = order[:k].tolist()
    assert len(page) == len(set(page)) == min(k, len(topics))


@settings(max_examples=100, deadline=None)
@given(candidate_sets, st.integers(1, 25))
def test_each_kind_of_slot_gets_its_share(data, k: int) -> None:
    topics, creators, sources, scores = data
    cat, cands, order = world(topics, creators, sources, scores)
    c = ctx(k)
    order = MmrSelector(Vectors(cat.primary_topic), 0.7, 200).select(c, cands, order, k).order
    for sel in (TrendSlotSelector(TREND, 0.2), FreshSlotSelector(FRESH, 0.2), ExplorationSlotSelector(EXPLORE, 0.2)):
        order = sel.select(c, cands, order, k).order
    page = order[:k]
    assert len(set(order.tolist())) == len(order)
    for mask in (TREND, FRESH, EXPLORE):
        have = int(((cands.sources & mask) != 0).sum())
        got = int(((cands.sources[page] & mask) != 0).sum())
        assert got >= min(slot_count(0.2, k), have), (mask, got, have)
