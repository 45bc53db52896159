"""The FastAPI application factory. OpenAPI docs at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from reelrank import __version__
from reelrank.engine import Engine
from reelrank.serving import (
    routes_catalogue,
    routes_feed,
    routes_inspect,
    routes_interests,
    routes_models,
    routes_web,
)
from reelrank.serving.errors import install_error_handlers
from reelrank.serving.responses import JsonResponse

DESCRIPTION = """A real-time recommendation engine for short-video (Reels) and photo-grid (Explore) feeds.

Send the catalogue (users, posts), the social graph and interaction events; ask `GET /v1/feed` for
the next page. Every event updates online state at once, so the next page reflects it."""


def create_app(engine: Engine, own_engine: bool = False) -> FastAPI:
    """Build the app around an engine. With own_engine the app closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engine.start_maintenance()
        try:
            yield
        finally:
            if own_engine:
                engine.close()

    app = FastAPI(title="reelrank", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  default_response_class=JsonResponse)
    app.state.engine = engine
    install_error_handlers(app)
    app.include_router(routes_catalogue.router)
    app.include_router(routes_feed.router)
    app.include_router(routes_interests.router)  # 'Your Algorithm'
    app.include_router(routes_inspect.router)
    app.include_router(routes_models.router)  # learned retrieval: status, reload
    routes_web.install(app)  # /v1/posts?ids=, /v1/users, /v1/topics, the web app under /app

    @app.get("/healthz", tags=["ops"])
    def healthz(request: Request) -> dict[str, Any]:
        e: Engine = request.app.state.engine
        out: dict[str, Any] = {"status": "ok", "posts": len(e.catalogue), "users": len(e.accounts),
                               "indexed": len(e.index)}
        if e.labels is not None:  # ranking stack: a stalled labeller means training data is going missing
            out["labeller"] = e.labels.labeller.health()
        if e.impressions is not None:
            out["impressions"] = e.impressions.health()
        return out

    @app.get("/metrics", tags=["ops"], response_class=Response)
    def metrics(request: Request) -> Response:
        e: Engine = request.app.state.engine
        return Response(e.metrics.render(), media_type="text/plain; version=0.0.4")

    return app
