"""Maps engine errors to HTTP: every 4xx names the field and the rule it broke."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from reelrank.ingest.errors import BatchRejected, UnknownEntity
from reelrank.serving.cursor import BadCursor
from reelrank.serving.responses import JsonResponse
from reelrank.state.records.base import NotFound


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ValidationError)
    async def _model(_: Request, exc: ValidationError) -> JsonResponse:
        return _validation_response(exc.errors())

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JsonResponse:
        return _validation_response(exc.errors())

    def _validation_response(raw: Any) -> JsonResponse:
        errors = [{"field": _field(tuple(e.get("loc", ()))), "rule": e.get("type", ""), "message": e.get("msg", "")}
                  for e in raw]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        msg = f"{first['field']}: {first['message']}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        return JsonResponse(status_code=422, content={"error": "validation_error", "message": msg,
                                                        "errors": errors})

    @app.exception_handler(BatchRejected)
    async def _batch(_: Request, exc: BatchRejected) -> JsonResponse:
        return JsonResponse(status_code=422, content={"error": "batch_rejected", "message": str(exc),
                                                        "errors": [e.as_dict() for e in exc.errors]})

    @app.exception_handler(UnknownEntity)
    async def _unknown(_: Request, exc: UnknownEntity) -> JsonResponse:
        return JsonResponse(status_code=404, content={"error": f"unknown_{exc.what}", "message": str(exc)})

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JsonResponse:
        return JsonResponse(status_code=404, content={"error": f"unknown_{exc.what}", "message": str(exc)})

    @app.exception_handler(BadCursor)
    async def _cursor(_: Request, exc: BadCursor) -> JsonResponse:
        return JsonResponse(status_code=400, content={"error": "bad_cursor", "message": str(exc)})
