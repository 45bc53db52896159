"""The web app (feed demo + inspector) and the small read endpoints it needs.

The app is plain HTML/CSS/ES modules shipped inside the package (reelrank/web/), served by the
engine itself: no build step, no CDN, nothing fetched from the network at run time.

  GET /app/                 the Reels / Explore demo app (inspector at /app/inspector.html)
  GET /v1/posts?ids=a,b     captions and details of many posts in one call (a feed page's worth)
  GET /v1/users?limit=      accounts to pick from (viewers first), for the demo's user picker
  GET /v1/topics            the catalogue's topics with post counts, for onboarding and "add a topic"
  GET /v1/trending?topic=&limit=
                            the trending pool per topic: each post's velocity, ratio to its creator's
                            baseline and when it entered the pool (the inspector's trending panel)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse

from reelrank.engine import Engine
from reelrank.serving.responses import JsonResponse
from reelrank.serving.routes_catalogue import engine_of
from reelrank.serving.schemas import TrendingPost, TrendingResponse, TrendingTopic
from reelrank.trends.trending_pool import PoolEntry

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
MAX_POST_IDS = 100

router = APIRouter(prefix="/v1", default_response_class=JsonResponse)


@router.get("/posts", tags=["posts"], summary="Many posts by id (captions for a feed page, in one call)")
def get_posts(
    request: Request,
    ids: str = Query(..., min_length=1, max_length=MAX_POST_IDS * 130,
                     description=f"Comma-separated post ids, at most {MAX_POST_IDS}."),
) -> dict[str, Any]:
    engine = engine_of(request)
    wanted = list(dict.fromkeys(i.strip() for i in ids.split(",") if i.strip()))[:MAX_POST_IDS]
    posts, missing = [], []
    for post_id in wanted:
        rec = engine.records.get_post(post_id)
        if rec is None:
            missing.append(post_id)
            continue
        p = rec.post
        posts.append({"post_id": p.post_id, "creator_id": p.creator_id, "kind": p.kind.value, "caption": p.caption,
                      "hashtags": p.hashtags, "topics": p.topics, "duration_ms": p.duration_ms,
                      "created_at": p.created_at, "status": p.status.value})
    return {"posts": posts, "missing": missing}


@router.get("/users", tags=["users"], summary="List accounts (viewers first), e.g. for a user picker")
def list_users(
    request: Request,
    limit: int = Query(24, ge=1, le=200),
    prefix: str = Query("", max_length=128, description="Only ids starting with this."),
    creators: bool = Query(False, description="Include accounts that have posted."),
) -> dict[str, Any]:
    engine = engine_of(request)
    posted = engine.catalogue.by_creator
    out: list[dict[str, Any]] = []
    for uid, user in list(engine.accounts.profiles.items()):
        if len(out) >= limit:
            break
        if (not creators and uid in posted) or not user.user_id.startswith(prefix):
            continue
        out.append({"user_id": user.user_id, "region": user.region, "interests": user.interests,
                    "is_creator": uid in posted})
    return {"users": out, "total_accounts": len(engine.accounts)}


@router.get("/topics", tags=["posts"], summary="Topics in the catalogue, with active posts per primary topic")
def list_topics(request: Request) -> dict[str, Any]:
    cat = engine_of(request).catalogue
    n = len(cat.topics)
    top = cat.primary_topic[: cat.max_pid + 1][cat.active[: cat.max_pid + 1]]
    counts = np.bincount(top, minlength=n + 1)
    pairs = sorted(((cat.topics.name(c), int(counts[c])) for c in range(1, n + 1)), key=lambda tc: (-tc[1], tc[0]))
    return {"topics": [{"topic": t, "posts": c} for t, c in pairs]}


@router.get("/trending", tags=["posts"], response_model=TrendingResponse,
            summary="Posts trending now, per topic, with their velocity and ratio to the creator's baseline")
def trending(
    request: Request,
    topic: str | None = Query(None, min_length=1, max_length=128, description="Only this topic."),
    limit: int = Query(20, ge=1, le=200, description="Posts listed per topic, hottest first."),
) -> TrendingResponse:
    engine = engine_of(request)
    pool, tr, now = engine.realtime.pool, engine.settings.trends, time.time()
    if topic is None:
        names = sorted({t for pid in pool.all(now) for t in engine.catalogue.topic_names(int(pid))})
    else:
        names = [topic]
    members = pool.by_topic(names, now)  # topic -> {pid: expiry}
    entries = {e.pid: e for e in pool.entries({p for m in members.values() for p in m}, now)}
    groups = []
    for name in names:
        found = sorted((entries[p] for p in members.get(name, {}) if p in entries), key=lambda e: (-e.heat, e.pid))
        if found or topic is not None:
            groups.append(TrendingTopic(topic=name, total=len(found),
                                        posts=[_trending_post(engine, e) for e in found[:limit]]))
    groups.sort(key=lambda g: (-g.total, g.topic))
    return TrendingResponse(ts=now, enabled=tr.enabled, window_s=tr.window_s, threshold=tr.threshold,
                            pool_ttl_s=pool.ttl_s, topics=groups)


def _trending_post(engine: Engine, e: PoolEntry) -> TrendingPost:
    cat = engine.catalogue
    creator = engine.accounts.profiles.get(int(cat.creator[e.pid])) if e.pid < len(cat.creator) else None
    return TrendingPost(post_id=cat.post_ids.get(e.pid, f"#{e.pid}"),
                        creator_id=creator.user_id if creator is not None else None,
                        topics=cat.topic_names(e.pid), ratio=round(e.heat, 3),
                        velocity=None if e.velocity is None else round(e.velocity, 3),
                        entered_at=e.entered_at, expires_at=e.expires_at)


def install(app: FastAPI) -> None:
    """Add the read endpoints, the static app under /app and a redirect from / to it."""
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/app/")

    @app.get("/app", include_in_schema=False)
    def app_root() -> RedirectResponse:
        return RedirectResponse("/app/")

    if WEB_DIR.is_dir():
        app.mount("/app", StaticFiles(directory=WEB_DIR, html=True), name="web")
