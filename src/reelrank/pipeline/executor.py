"""Runs a pipeline definition: sources in parallel under deadlines (fail-open), then the mandatory
safety filters (pipeline/safety.py), the pipeline's own filters, scorers and selectors in order,
timing every stage into the trace and the metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np

from reelrank.pipeline.candidates import Candidates, Retrieved, merge
from reelrank.pipeline.components import Filter, Move, Scorer, Selector, Source
from reelrank.pipeline.context import FeedContext
from reelrank.pipeline.safety import SafetyFilters
from reelrank.pipeline.trace import StageDegraded, StageRecord, Stopwatch, Trace

log = logging.getLogger(__name__)

MAX_SOURCES = 32  # one bit each in Candidates.sources
MAX_LISTED_REMOVALS = 50  # per filter reason, in a detailed trace

StageObserver = Callable[[StageRecord], None]


@dataclass(frozen=True)
class Pipeline:
    """A funnel, declared like configuration: which components run, in which order."""

    name: str
    sources: Sequence[Source]
    filters: Sequence[Filter]
    scorers: Sequence[Scorer]
    selectors: Sequence[Selector]
    source_deadline_ms: float = 30.0
    safety: SafetyFilters | None = None  # required: a pipeline without the mandatory filters is refused

    def __post_init__(self) -> None:
        if not isinstance(self.safety, SafetyFilters):
            raise ValueError(f"pipeline {self.name!r} must declare the mandatory safety filters "
                             "(safety=SafetyFilters(...), see pipeline/safety.py)")
        if len(self.sources) > MAX_SOURCES:
            raise ValueError(f"at most {MAX_SOURCES} sources per pipeline")
        names = [*(c.name for c in self.sources), *self.safety.names, *(c.name for c in self.filters),
                 *(c.name for c in self.scorers), *(c.name for c in self.selectors)]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique in a pipeline: {names}")

    def source_names(self, bits: int) -> list[str]:
        return [s.name for i, s in enumerate(self.sources) if bits & (1 << i)]


@dataclass
class PipelineResult:
    cands: Candidates  # after filters and scorers
    page: np.ndarray  # (K,) indices into cands, in page order
    moves: list[Move] = field(default_factory=list)
    trace: Trace = field(default_factory=Trace)


class PipelineExecutor:
    def __init__(self, pool: ThreadPoolExecutor, observe: StageObserver | None = None) -> None:
        self._pool = pool
        self._observe = observe

    def _record(self, trace: Trace, rec: StageRecord) -> None:
        trace.add(rec)
        if self._observe is not None:
            self._observe(rec)

    def run(self, pipe: Pipeline, ctx: FeedContext, trace: Trace | None = None) -> PipelineResult:
        """`trace` lets a caller ask for more detail (e.g. the inspector's per-source lists)."""
        trace = trace if trace is not None else Trace(detailed=ctx.explain)
        if not isinstance(pipe.safety, SafetyFilters):  # refused at construction too; never run without
            raise ValueError(f"pipeline {pipe.name!r} has no safety filters")
        cands = self._retrieve(pipe, ctx, trace)
        sw = Stopwatch()
        for f in (*pipe.safety.filters, *pipe.filters):  # safety first: whatever any source proposed
            n_in = len(cands)
            removed = f.apply(ctx, cands)
            drop = np.zeros(n_in, dtype=bool)
            detail: dict[str, object] = {}
            for reason, mask in removed.items():
                hits = mask & ~drop  # count each candidate under the first reason that removed it
                drop |= mask
                if hits.any():
                    detail[reason] = int(hits.sum())
                    if trace.detailed:
                        detail[f"{reason}:pids"] = [int(p) for p in cands.pids[hits][:MAX_LISTED_REMOVALS]]
            if drop.any():
                cands = cands.take(~drop)
            self._record(trace, StageRecord("filter", f.name, sw.lap(), n_in, len(cands), detail=detail))
        for s in pipe.scorers:
            status = "ok"
            try:
                s.score(ctx, cands)
            except StageDegraded as exc:  # the scorer left a fallback score (ranker -> pre-rank order)
                status = exc.status
                trace.degraded.append(f"score:{s.name}:{status}")
            self._record(trace, StageRecord("score", s.name, sw.lap(), len(cands), len(cands), status=status))
        score = cands.columns.get("score")
        order = np.argsort(-score, kind="stable") if score is not None else np.arange(len(cands))
        moves: list[Move] = []
        for sel in pipe.selectors:
            n_in = len(order)
            selection = sel.select(ctx, cands, order, ctx.page_size)
            order = selection.order
            moves.extend(selection.moves)
            self._record(trace, StageRecord("select", sel.name, sw.lap(), n_in, len(order),
                                            detail={"moves": len(selection.moves)}))
        page = order[: ctx.page_size]
        _, first = np.unique(page, return_index=True)
        if len(first) != len(page):  # a selector repeated a candidate: a page never shows a post twice
            log.error("pipeline %s: selectors repeated candidates; deduplicated", pipe.name)
            page = page[np.sort(first)]
        return PipelineResult(cands, page, moves, trace)

    def _retrieve(self, pipe: Pipeline, ctx: FeedContext, trace: Trace) -> Candidates:
        start = time.perf_counter()
        deadline_s = pipe.source_deadline_ms / 1000.0

        def timed(src: Source) -> tuple[Retrieved, float]:
            t = time.perf_counter()
            out = src.retrieve(ctx)
            return out, (time.perf_counter() - t) * 1000.0

        futures: list[Future[tuple[Retrieved, float]]] = [self._pool.submit(timed, s) for s in pipe.sources]
        wait(futures, timeout=deadline_s)
        results: list[tuple[int, Retrieved]] = []
        for bit, (src, fut) in enumerate(zip(pipe.sources, futures, strict=True)):
            if not fut.done():
                fut.cancel()
                trace.degraded.append(f"source:{src.name}:timeout")
                self._record(trace, StageRecord("source", src.name, pipe.source_deadline_ms, status="timeout"))
                continue
            exc = fut.exception()
            if exc is not None:
                log.warning("source %s failed: %r", src.name, exc)
                trace.degraded.append(f"source:{src.name}:error")
                self._record(trace, StageRecord("source", src.name, 0.0, status="error",
                                                detail={"error": repr(exc)[:200]}))
                continue
            got, ms = fut.result()
            results.append((bit, got))
            self._record(trace, StageRecord("source", src.name, ms, n_out=len(got.pids),
                                            detail=_top(got, trace.source_top) if trace.source_top else {}))
        t = time.perf_counter()
        cands = merge(results)
        merge_ms = (t - start) * 1000.0
        self._record(trace, StageRecord("merge", "merge", (time.perf_counter() - t) * 1000.0,
                                        n_in=sum(len(r.pids) for _, r in results), n_out=len(cands),
                                        detail={"retrieval_wall_ms": round(merge_ms, 3)}))
        return cands


def _top(got: Retrieved, n: int) -> dict[str, object]:
    """A source's n best candidates as [pid, score] pairs, best first (only for detailed traces)."""
    k = min(n, len(got.pids))
    if k == 0:
        return {"top": []}
    best = np.argsort(-got.scores, kind="stable")[:k]
    return {"top": [[int(got.pids[i]), round(float(got.scores[i]), 5)] for i in best]}
