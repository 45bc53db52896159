"""Server mode: several serving processes (and `reelrank worker`s) on one PostgreSQL and one Redis.

    clients -> reelrank serve --workers N   (uvicorn, N processes sharing one listening socket)
               each process: Engine (records: PostgreSQL, online state: Redis, drain = "external")
                             + CatalogueReplica (index/replica.py): ANN replica, catalogue, accounts, graph
                               loaded from the snapshot + PostgreSQL, then following <prefix>:changes
               POST /v1/events -> PostgreSQL (durable, idempotent) -> user features in Redis -> XADD <prefix>:events
    reelrank worker (x M)  -> consumer groups "features" / "trends" on <prefix>:events -> aggregates in Redis

A serving process never replays events into Redis on start (engine.py) and does not consume the event
stream's groups; workers do. Index snapshots are written under an exclusive file lock, so processes
sharing a data_dir never interleave a save.

Failures: a backend error that means "not done" (PostgreSQL or Redis unreachable) is a 503 with
`{"error": "unavailable", "backend": ...}`: nothing was acknowledged. Feeds fail open on Redis (see
state/online/redis_guard.py). Events are refused while Redis is down; if Redis goes away after an event
was stored, the answer is a 503 too, and the event's online effects are owed (durably, on disk) until
a retry of the event or the process's outbox thread applies them once Redis is back
(state/stream/ingest_outbox.py). Replicas re-sync from PostgreSQL after an outage (index/replica.py).

Which process answered: every response carries `x-reelrank-process: <pid>`; `GET /healthz/process`
gives the pid, the replica's figures (changes applied, failed publishes, re-syncs) and the owed events.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from reelrank.config import Settings
from reelrank.engine import Engine
from reelrank.index.replica import CatalogueReplica, install
from reelrank.state.online.redis_guard import UNAVAILABLE, BackendUnavailable, GuardedRedisOnlineState
from reelrank.state.stream.ingest_outbox import APPLY, PUBLISH, IngestOutbox

log = logging.getLogger(__name__)
DEGRADED = "online_state:redis_unavailable"


def build_engine(settings: Settings, *, role: str = "serve") -> Engine:
    """An Engine for one process of a server-mode deployment. role "serve": no stream consumers
    (workers run them); role "worker": consumer threads, exact (not fail-open) Redis state."""
    if not settings.server_mode:
        raise ValueError("server mode needs REELRANK_DATABASE_URL=postgresql://... and REELRANK_REDIS_URL=redis://...")
    s = settings.model_copy(deep=True)
    s.realtime.drain = "external" if role == "serve" else "thread"
    s.backends.redis_fail_open = role == "serve"
    assert s.redis_url is not None
    # The follower's start position is taken before the engine loads, so nothing written meanwhile is missed.
    pre = _Pending(s.redis_url, s.backends.redis_prefix)
    engine = Engine(s)
    replica = pre.attach(engine)
    install(engine, replica)
    replica.start()
    engine.replica = replica  # type: ignore[attr-defined]
    _lock_snapshots(engine)
    if role == "serve":
        _guard_requests(engine)
    return engine


class _Pending:
    """Holds a CatalogueReplica's stream cursor taken before the engine exists."""

    def __init__(self, url: str, prefix: str) -> None:
        from reelrank.state.accounts import AccountDirectory, SocialGraph
        from reelrank.state.catalogue import Catalogue

        self._replica = CatalogueReplica(url, prefix, Catalogue(), AccountDirectory(), SocialGraph(), None, None)

    def attach(self, engine: Engine) -> CatalogueReplica:
        r = self._replica
        r._cat, r._accounts, r._graph = engine.catalogue, engine.accounts, engine.graph
        r._index, r._pop = engine.index, engine.popularity
        r.records, r.replayed = engine.records, engine.replayed
        return r


def _lock_snapshots(engine: Engine) -> None:
    save = engine.snapshot

    def snapshot() -> Path:
        d = engine.settings.snapshot_dir
        d.mkdir(parents=True, exist_ok=True)
        with open(d / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            return save()

    engine.snapshot = snapshot  # type: ignore[method-assign]
    close = engine.close

    def close_all() -> None:
        replica = getattr(engine, "replica", None)
        if replica is not None:
            replica.close()
        close()

    engine.close = close_all  # type: ignore[method-assign]


def _guard_requests(engine: Engine) -> None:
    """Feeds: degraded, not failed, while Redis is down. Events: checked against Redis before storing."""
    from prometheus_client import Counter

    online = engine.online
    if not isinstance(online, GuardedRedisOnlineState):
        return
    degraded = Counter("reelrank_degraded_requests", "Requests served without a backend (fail-open)",
                       ["backend", "route"], registry=engine.metrics.registry)
    feed, ingest = engine.feed_service.feed, engine.event_writer.ingest

    def guarded_feed(req: Any) -> Any:
        before = online.failures
        with online.best_effort():
            page, result = feed(req)
        if online.failures != before or not online.available:
            result.trace.degraded.append(DEGRADED)
            if page.trace:
                page.trace["degraded"] = list(result.trace.degraded)
            degraded.labels("redis", "feed").inc()
        return page, result

    def guarded_ingest(events: Any) -> Any:
        online.check()  # 503 before anything is stored: the client retries the whole batch
        return ingest(events)

    engine.feed_service.feed = guarded_feed  # type: ignore[method-assign]
    engine.event_writer.ingest = guarded_ingest  # type: ignore[method-assign]
    _owe_failed_effects(engine, online)


def _owe_failed_effects(engine: Engine, online: GuardedRedisOnlineState) -> None:
    """An event stored in PostgreSQL whose Redis steps then failed is answered 503 and its online effects
    are owed, durably, until a retry or the outbox's thread applies them (state/stream/ingest_outbox.py)."""
    writer = engine.event_writer
    apply, publish, ingest = writer.apply, writer._publish, writer.ingest
    if publish is None:
        return
    failures = (BackendUnavailable, *UNAVAILABLE)  # an outage; a command error is a bug, never re-applied
    replica = getattr(engine, "replica", None)
    name = replica.origin if replica is not None else f"{os.getpid()}-{secrets.token_hex(3)}"
    # The outbox redoes only the online step (replay=True skips the durable side effects, which were
    # stored before the Redis step failed: redoing them would undo e.g. an unfollow made meanwhile).
    outbox = IngestOutbox(engine.settings.data_dir / "outbox", name, lambda items: apply(items, True), publish,
                          online.check)

    def apply_or_owe(items: Any, replay: bool = False) -> None:
        try:
            apply(items, replay)
        except failures:
            if not replay:
                outbox.owe(items, APPLY)
            raise

    def publish_or_owe(items: Any) -> None:
        try:
            publish(items)
        except failures:
            outbox.owe(items, PUBLISH)
            raise

    def ingest_settling(events: Any) -> Any:
        result = ingest(events)
        if result.duplicates and len(outbox):  # a retry of events whose effects this process owes
            outbox.settle([e.event_id for e in events])  # raises (503 again) while Redis is still down
        return result

    writer.apply = apply_or_owe  # type: ignore[method-assign]
    writer._publish = publish_or_owe
    writer.ingest = ingest_settling  # type: ignore[method-assign]
    engine.outbox = outbox  # type: ignore[attr-defined]
    outbox.start()
    close = engine.close

    def close_outbox() -> None:
        try:
            outbox.close()  # stops settling first: what is still owed stays on disk for the next process
        finally:
            close()

    engine.close = close_outbox  # type: ignore[method-assign]


def install_unavailable_handlers(app: FastAPI) -> None:
    """Backend outages -> 503 (never an acknowledgement). A Redis command error (WRONGTYPE, a script error)
    is not an outage that a retry gets past: it stays a 500."""
    import psycopg
    import psycopg_pool

    def unavailable(backend: str) -> Any:
        async def handler(_: Request, exc: Exception) -> JSONResponse:
            log.warning("%s unavailable: %s", backend, exc)
            return JSONResponse({"error": "unavailable", "backend": backend, "detail": str(exc)[:200]},
                                status_code=503, headers={"Retry-After": "1"})
        return handler

    async def backend(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BackendUnavailable)
        return JSONResponse({"error": "unavailable", "backend": exc.backend, "detail": str(exc)},
                            status_code=503, headers={"Retry-After": "1"})

    app.add_exception_handler(BackendUnavailable, backend)
    for exc_type in UNAVAILABLE:
        if exc_type is not OSError:  # a bare OSError need not be Redis's
            app.add_exception_handler(exc_type, unavailable("redis"))
    for exc in (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed):
        app.add_exception_handler(exc, unavailable("postgresql"))


def create_server_app(settings: Settings | None = None) -> FastAPI:
    """The app of one serving process (uvicorn factory: `reelrank.serving.workers:create_server_app`)."""
    from reelrank.serving.app import create_app

    s = settings or Settings()  # from REELRANK_* env
    engine = build_engine(s, role="serve")
    app = create_app(engine, own_engine=True)
    install_unavailable_handlers(app)
    install_process_info(app, engine)
    return app


def install_process_info(app: FastAPI, engine: Engine) -> None:
    """Which process answered: an `x-reelrank-process` header (the pid) on every response, and
    `GET /healthz/process` with the pid, this process's replica figures (index/replica.py) and how many
    stored events still owe their online effects (state/stream/ingest_outbox.py)."""
    pid = str(os.getpid()).encode()

    @app.get("/healthz/process", tags=["ops"])
    def process_info() -> dict[str, Any]:
        replica, outbox = getattr(engine, "replica", None), getattr(engine, "outbox", None)
        return {"pid": os.getpid(), "indexed": len(engine.index),
                "replica": replica.stats() if replica is not None else None,
                "owed_events": len(outbox) if outbox is not None else 0}  # stored, online effects pending

    class ProcessHeader:  # plain ASGI (not BaseHTTPMiddleware): costs one list append per response
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return await self.inner(scope, receive, send)

            async def send_with_pid(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), (b"x-reelrank-process", pid)]
                await send(message)

            return await self.inner(scope, receive, send_with_pid)

    app.add_middleware(ProcessHeader)


def serve_many(settings: Settings, host: str, port: int, workers: int, log_level: str = "warning") -> None:
    """Run `workers` serving processes on one port (uvicorn's multi-process mode: the kernel spreads
    connections over the processes' accept() calls). Settings reach the children through REELRANK_* env."""
    import uvicorn

    env = {"REELRANK_DATA_DIR": str(settings.data_dir), "REELRANK_ENCODER__KIND": settings.encoder.kind,
           "REELRANK_DATABASE_URL": settings.database_url or "", "REELRANK_REDIS_URL": settings.redis_url or ""}
    # Cursors are signed: every process must share the secret, or a page 2 on another process is refused.
    env["REELRANK_CURSOR_SECRET"] = settings.cursor_secret or secrets.token_hex(16)
    os.environ.update({k: v for k, v in env.items() if v})
    uvicorn.run("reelrank.serving.workers:create_server_app", factory=True, host=host, port=port,
                workers=workers, log_level=log_level, access_log=False)
