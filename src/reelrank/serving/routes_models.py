"""Model operations: which retrieval model is live, and loading a newly published version now.

The server also checks the registry's `current` pointer every `models.check_every_s` seconds, so
the reload call is only needed to swap at once (e.g. right after `reelrank train retrieval`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from reelrank.serving.routes_catalogue import engine_of

router = APIRouter(prefix="/v1/admin/models", tags=["ops"])


def _status(request: Request) -> dict[str, Any]:
    e = engine_of(request)
    model = e.models.current
    return {"live": e.models.version, "current": e.models.registry.current(), "versions": e.models.registry.versions(),
            "indexed": len(model.index) if model is not None else 0, "last_error": e.models.last_error}


@router.get("", summary="The live retrieval model and the published versions")
def models_status(request: Request) -> dict[str, Any]:
    return _status(request)


@router.post("/reload", summary="Load the `current` version now (built off to the side, then swapped)")
async def models_reload(request: Request) -> dict[str, Any]:
    await run_in_threadpool(engine_of(request).models.reload)  # loading takes seconds: off the event loop
    return _status(request)
