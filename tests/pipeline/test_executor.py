"""The pipeline executor: parallel sources under deadlines, fail-open, removals with reasons."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from reelrank.domain import Surface, User
from reelrank.pipeline.candidates import Candidates, Retrieved, merge
from reelrank.pipeline.components import Selection
from reelrank.pipeline.context import FeedContext
from reelrank.pipeline.executor import Pipeline, PipelineExecutor
from reelrank.pipeline.safety import REQUIRED_RULES, SafetyFilters


class FixedSource:
    def __init__(self, name: str, pids: list[int], delay_s: float = 0.0, fail: bool = False) -> None:
        self.name = name
        self._pids = pids
        self._delay = threading.Event()
        self._delay_s = delay_s
        self._fail = fail

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        if self._delay_s:
            self._delay.wait(self._delay_s)
        if self._fail:
            raise RuntimeError("backend down")
        return Retrieved(np.asarray(self._pids, dtype=np.int64), np.linspace(1, 0, len(self._pids), dtype=np.float32))


class PassFilter:
    """Stands in for a mandatory safety filter (pipelines are refused without them)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        return {}


SAFE = SafetyFilters([PassFilter(n) for n in sorted(REQUIRED_RULES)])


class OddFilter:
    name = "odd"

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        return {"odd_pid": cands.pids % 2 == 1}


class PidScorer:
    name = "pid"

    def score(self, ctx: FeedContext, cands: Candidates) -> None:
        cands.columns["score"] = cands.pids.astype(np.float32)


class TopK:
    name = "topk"

    def select(self, ctx: FeedContext, cands: Candidates, order: np.ndarray, k: int) -> Selection:
        return Selection(order[:k])


def ctx(explain: bool = True) -> FeedContext:
    return FeedContext(uid=1, user=User(user_id="u"), surface=Surface.REELS, page_size=3, now=0.0,
                       session_id="s", query=None, session=[], following=set(), hidden_creators=set(),
                       seen=np.zeros(0, np.int64), served=np.zeros(0, np.int64), explain=explain)


@pytest.fixture
def pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(4)


def test_merge_keeps_every_source_bit() -> None:
    c = merge([(0, Retrieved(np.array([1, 2]), np.array([0.5, 0.4], np.float32))),
               (2, Retrieved(np.array([2, 3]), np.array([0.9, 0.1], np.float32)))])
    assert c.pids.tolist() == [1, 2, 3]
    assert c.sources.tolist() == [1, 1 | 4, 4]
    assert np.isnan(c.columns["src:2"][0]) and c.columns["src:2"][1] == pytest.approx(0.9)


def test_slow_and_failing_sources_fail_open(pool: ThreadPoolExecutor) -> None:
    pipe = Pipeline("t", [FixedSource("fast", [2, 4, 6]), FixedSource("slow", [8, 10], delay_s=2.0),
                          FixedSource("broken", [12], fail=True)], [], [PidScorer()], [TopK()],
                    source_deadline_ms=100, safety=SAFE)
    res = PipelineExecutor(pool).run(pipe, ctx())
    assert res.cands.pids[res.page].tolist() == [6, 4, 2]
    assert set(res.trace.degraded) == {"source:slow:timeout", "source:broken:error"}
    statuses = {s.name: s.status for s in res.trace.stages if s.stage == "source"}
    assert statuses == {"fast": "ok", "slow": "timeout", "broken": "error"}


def test_filters_record_reasons_and_scores_order(pool: ThreadPoolExecutor) -> None:
    observed = []
    pipe = Pipeline("t", [FixedSource("a", [1, 2, 3, 4, 5, 6])], [OddFilter()], [PidScorer()], [TopK()],
                    safety=SAFE)
    res = PipelineExecutor(pool, observed.append).run(pipe, ctx())
    assert res.cands.pids[res.page].tolist() == [6, 4, 2]
    filt = next(s for s in res.trace.stages if s.name == "odd")
    assert filt.detail["odd_pid"] == 3 and filt.detail["odd_pid:pids"] == [1, 3, 5]
    assert {r.stage for r in observed} == {"source", "merge", "filter", "score", "select"}


def test_component_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        Pipeline("t", [FixedSource("a", []), FixedSource("a", [])], [], [], [], safety=SAFE)
