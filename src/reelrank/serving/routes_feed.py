"""The feed and the event stream: the two hot endpoints."""

from __future__ import annotations

import time

from fastapi import APIRouter, Query, Request

from reelrank.domain import FeedRequest, Surface
from reelrank.ingest.errors import BatchRejected, ItemError
from reelrank.serving.responses import JsonResponse
from reelrank.serving.routes_catalogue import engine_of
from reelrank.serving.schemas import EventsBatch, IngestResponse

router = APIRouter(prefix="/v1", default_response_class=JsonResponse)


@router.post("/events", tags=["events"], summary="Send interaction events (idempotent by event_id)")
def post_events(batch: EventsBatch, request: Request) -> IngestResponse:
    engine = engine_of(request)
    limit = engine.settings.max_event_batch
    if len(batch.events) > limit:
        engine.metrics.events.labels("rejected").inc(len(batch.events))
        raise BatchRejected("events", [ItemError(limit, "events", f"at most {limit} events per batch")])
    try:
        res = engine.event_writer.ingest(batch.events)
    except BatchRejected:
        engine.metrics.events.labels("rejected").inc(len(batch.events))
        raise
    engine.metrics.events.labels("accepted").inc(res.accepted)
    engine.metrics.events.labels("duplicate").inc(res.duplicates)
    return IngestResponse(accepted=res.accepted, duplicates=res.duplicates)


@router.get("/feed", tags=["feed"], summary="The next page of a user's feed")
def get_feed(
    request: Request,
    user_id: str = Query(..., min_length=1, max_length=128),
    surface: Surface = Surface.REELS,
    page_size: int | None = Query(None, ge=1, le=100),
    cursor: str | None = Query(None, max_length=512),
    explain: bool = Query(False, description="Add per-post explanations and the pipeline trace."),
) -> JsonResponse:
    engine = engine_of(request)
    t = time.perf_counter()
    req = FeedRequest(user_id=user_id, surface=surface, page_size=page_size or engine.settings.feed.page_size,
                      cursor=cursor, explain=explain)
    page, _ = engine.feed_service.feed(req)
    engine.metrics.feed_requests.labels(surface.value).inc()
    engine.metrics.feed_latency.labels(surface.value).observe((time.perf_counter() - t) * 1000.0)
    return JsonResponse(page.as_dict())
