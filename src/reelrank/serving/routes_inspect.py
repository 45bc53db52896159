"""For platform engineers: the funnel at work for one user, and live serving figures.

  GET /v1/inspect?user_id=&surface=   runs the surface's pipeline read-only (nothing is marked served,
                                      no metrics are recorded) and returns every stage in detail:
                                      candidates per source with their source scores, what each filter
                                      removed and why, the score of every signal, policy moves, the page,
                                      and the latency of each stage.
  GET /v1/stats                       a JSON summary of the engine's Prometheus metrics: event counters,
                                      feed latency percentiles per surface, per-stage latency, degraded stages.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request

from reelrank.domain import FeedRequest, Surface
from reelrank.engine import Engine
from reelrank.pipeline.context import FeedContext
from reelrank.pipeline.executor import Pipeline, PipelineExecutor, PipelineResult
from reelrank.pipeline.trace import StageRecord, Stopwatch, Trace
from reelrank.serving.responses import JsonResponse
from reelrank.serving.routes_catalogue import engine_of

router = APIRouter(prefix="/v1", default_response_class=JsonResponse)

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> PipelineExecutor:
    """An executor of its own, without the metrics observer: inspecting must not skew serving metrics."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="inspect")
    return PipelineExecutor(_pool)


@router.get("/inspect", tags=["inspect"], summary="Run the feed pipeline read-only and show every stage")
def inspect(
    request: Request,
    user_id: str = Query(..., min_length=1, max_length=128),
    surface: Surface = Surface.REELS,
    page_size: int | None = Query(None, ge=1, le=100),
    top: int = Query(20, ge=1, le=200, description="Candidates listed per source and in the scoring table."),
) -> dict[str, Any]:
    engine = engine_of(request)
    fs = engine.feed_service
    req = FeedRequest(user_id=user_id, surface=surface, page_size=page_size or engine.settings.feed.page_size,
                      explain=True)
    sw = Stopwatch()
    # A session of its own that is never written to (session-seeded sources draw the same way each time).
    ctx = fs.context(req, session_id=f"inspect:{user_id}", now=time.time())
    context_ms = sw.lap()
    pipe = fs.pipeline(surface)
    trace = Trace(detailed=True, source_top=top)
    result = _executor().run(pipe, ctx, trace)
    run_ms = sw.lap()
    trace.stages.insert(0, StageRecord("context", "context", context_ms))
    return {
        "user_id": user_id,
        "surface": surface.value,
        "page_size": req.page_size,
        "read_only": True,
        "pipeline": pipe.name,
        "total_ms": round(context_ms + run_ms, 3),
        "context": _context_view(engine, ctx),
        "stages": [{"stage": s.stage, "name": s.name, "ms": round(s.ms, 3), "n_in": s.n_in, "n_out": s.n_out,
                    "status": s.status} for s in trace.stages],
        "degraded": trace.degraded,
        "sources": [_source_view(engine, s) for s in trace.stages if s.stage == "source"],
        "merge": _merge_view(trace),
        "filters": [_filter_view(engine, s) for s in trace.stages if s.stage == "filter"],
        "scoring": _scoring_view(engine, pipe.source_names, trace, result, top),
        "policy": _policy_view(engine, trace, result),
        "page": _page_view(engine, pipe, ctx, result),
    }


def _post(engine: Engine, pid: int) -> dict[str, Any]:
    cat = engine.catalogue
    return {"post_id": cat.post_ids.get(pid, f"#{pid}"), "creator_id": engine.accounts.user_id(int(cat.creator[pid])),
            "topics": cat.topic_names(pid)}


def _context_view(engine: Engine, ctx: FeedContext) -> dict[str, Any]:
    cat = engine.catalogue
    return {
        "region": ctx.user.region,
        "onboarding_interests": ctx.user.interests,
        "following": len(ctx.following),
        "hidden_creators": len(ctx.hidden_creators),
        "seen": len(ctx.seen),
        "has_query_vector": ctx.query is not None,
        "session": [{**_post(engine, int(a.pid)), "weight": round(float(a.weight), 3), "ts": a.ts}
                    for a in list(ctx.session)[-10:] if int(a.pid) in cat.post_ids],
    }


def _source_view(engine: Engine, s: StageRecord) -> dict[str, Any]:
    top = [{**_post(engine, int(pid)), "score": score} for pid, score in s.detail.get("top", [])]
    return {"name": s.name, "ms": round(s.ms, 3), "status": s.status, "n_out": s.n_out, "top": top,
            **({"error": s.detail["error"]} if "error" in s.detail else {})}


def _merge_view(trace: Trace) -> dict[str, Any]:
    merge = next((s for s in trace.stages if s.stage == "merge"), None)
    return {"n_in": merge.n_in if merge else None, "n_out": merge.n_out if merge else None,
            "ms": round(merge.ms, 3) if merge else None,
            "retrieval_wall_ms": merge.detail.get("retrieval_wall_ms") if merge else None}


def _filter_view(engine: Engine, s: StageRecord) -> dict[str, Any]:
    removed = []
    for key, value in s.detail.items():
        if key.endswith(":pids"):
            continue
        pids = s.detail.get(f"{key}:pids", [])
        removed.append({"reason": key, "count": value,
                        "post_ids": [engine.catalogue.post_ids.get(int(p), f"#{p}") for p in pids]})
    return {"name": s.name, "ms": round(s.ms, 3), "n_in": s.n_in, "n_out": s.n_out, "removed": removed}


def _scoring_view(engine: Engine, source_names: Any, trace: Trace, result: PipelineResult,
                  top: int) -> dict[str, Any]:
    cands = result.cands
    columns = [k for k in cands.columns if not k.startswith("src:") and k != "score"]
    score = cands.columns.get("score")
    order = np.argsort(-score, kind="stable")[:top] if score is not None else np.arange(min(top, len(cands)))
    weights = engine.settings.score.model_dump()
    rows = []
    for rank, idx in enumerate(order):
        pid = int(cands.pids[idx])
        values = {k: round(float(cands.columns[k][idx]), 5) for k in columns}
        rows.append({"rank": rank, **_post(engine, pid), "sources": source_names(int(cands.sources[idx])),
                     "values": values, "score": round(float(score[idx]), 5) if score is not None else None})
    return {
        "scorers": [{"name": s.name, "ms": round(s.ms, 3), "n": s.n_in} for s in trace.stages if s.stage == "score"],
        "columns": columns,
        "weights": {k: weights[k] for k in columns if isinstance(weights.get(k), int | float)},
        "n_scored": len(cands),
        "top": rows,
    }


def _policy_view(engine: Engine, trace: Trace, result: PipelineResult) -> dict[str, Any]:
    return {
        "selectors": [{"name": s.name, "ms": round(s.ms, 3), "n_in": s.n_in, "n_out": s.n_out,
                       "moves": s.detail.get("moves", 0)} for s in trace.stages if s.stage == "select"],
        "moves": [{"post_id": engine.catalogue.post_ids.get(m.pid, f"#{m.pid}"), "action": m.action,
                   "reason": m.reason, "from_rank": m.from_rank, "to_rank": m.to_rank} for m in result.moves],
    }


def _page_view(engine: Engine, pipe: Pipeline, ctx: FeedContext, result: PipelineResult) -> list[dict[str, Any]]:
    """The page exactly as GET /v1/feed would render it (same code), with each item's explanation."""
    return engine.feed_service._items(pipe, ctx, result)


# -- live figures ---------------------------------------------------------------------------------
@router.get("/stats", tags=["ops"], summary="Serving figures as JSON (from the Prometheus metrics)")
def stats(request: Request) -> dict[str, Any]:
    engine = engine_of(request)
    events: dict[str, float] = {}
    feed_requests: dict[str, float] = {}
    feed_hist: defaultdict[str, dict[str, Any]] = defaultdict(lambda: {"buckets": {}, "count": 0.0, "sum": 0.0})
    stage_hist: defaultdict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"buckets": {}, "count": 0.0, "sum": 0.0})
    degraded = []
    for metric in engine.metrics.registry.collect():
        for s in metric.samples:
            if s.name == "reelrank_events_total":
                events[s.labels["outcome"]] = s.value
            elif s.name == "reelrank_feed_requests_total":
                feed_requests[s.labels["surface"]] = s.value
            elif s.name.startswith("reelrank_feed_latency_ms"):
                _hist_sample(feed_hist[s.labels["surface"]], s.name, s.labels, s.value)
            elif s.name.startswith("reelrank_stage_latency_ms"):
                _hist_sample(stage_hist[(s.labels["stage"], s.labels["name"])], s.name, s.labels, s.value)
            elif s.name == "reelrank_stage_degraded_total":
                degraded.append({"stage": s.labels["stage"], "name": s.labels["name"], "status": s.labels["status"],
                                 "count": s.value})
    all_feed = _combine(list(feed_hist.values()))
    return {
        "ts": time.time(),
        "events": {"accepted": 0.0, "duplicate": 0.0, "rejected": 0.0, **events},
        "feed": {
            "requests": feed_requests,
            "bucket_bounds_ms": sorted(float(le) for le in all_feed["buckets"] if le != "+Inf"),  # then +Inf
            "latency_ms": {"all": _summary(all_feed), **{k: _summary(v) for k, v in sorted(feed_hist.items())}},
        },
        "stages": [{"stage": k[0], "name": k[1], **_summary(v, with_buckets=False)}
                   for k, v in sorted(stage_hist.items())],
        "degraded": degraded,
        "catalogue": {"posts": len(engine.catalogue), "indexed": len(engine.index), "accounts": len(engine.accounts)},
    }


def _hist_sample(h: dict[str, Any], name: str, labels: dict[str, str], value: float) -> None:
    if name.endswith("_bucket"):
        h["buckets"][labels["le"]] = value
    elif name.endswith("_count"):
        h["count"] = value
    elif name.endswith("_sum"):
        h["sum"] = value


def _combine(hists: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"buckets": defaultdict(float), "count": 0.0, "sum": 0.0}
    for h in hists:
        for le, v in h["buckets"].items():
            out["buckets"][le] += v
        out["count"] += h["count"]
        out["sum"] += h["sum"]
    out["buckets"] = dict(out["buckets"])
    return out


def _summary(h: dict[str, Any], with_buckets: bool = True) -> dict[str, Any]:
    bounds = sorted(((float(le), v) for le, v in h["buckets"].items()), key=lambda bv: bv[0])
    n = h["count"]
    out: dict[str, Any] = {
        "count": n,
        "mean": round(h["sum"] / n, 3) if n else None,
        **{f"p{int(q * 100)}": percentile(bounds, n, q) for q in (0.5, 0.95, 0.99)},
    }
    if with_buckets:  # cumulative counts per bound (see bucket_bounds_ms): diff two polls for a windowed view
        out["buckets"] = [v for _, v in bounds]
    return out


def percentile(bounds: list[tuple[float, float]], n: float, q: float) -> float | None:
    """Estimate a quantile from cumulative histogram buckets [(upper bound, count <= bound)], interpolating
    linearly inside the bucket (as Prometheus' histogram_quantile does). None without observations."""
    if n <= 0 or not bounds:
        return None
    rank = q * n
    prev_le, prev_c = 0.0, 0.0
    for le, c in bounds:
        if c >= rank:
            if le == float("inf"):
                return round(prev_le, 3)  # beyond the last finite bucket: report its bound
            width = c - prev_c
            frac = (rank - prev_c) / width if width > 0 else 1.0
            return round(prev_le + (le - prev_le) * frac, 3)
        prev_le, prev_c = le, c
    return round(prev_le, 3)
