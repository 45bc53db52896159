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
state/online/redis_guard.py).
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
from reelrank.state.online.redis_guard import BackendUnavailable, GuardedRedisOnlineState

log = logging.getLogger(__name__)
DEGRADED = "online_state:redis_unavailable"


def is_server_mode(s: Settings) -> bool:
    return bool(s.redis_url) and bool(s.database_url) and not str(s.database_url).startswith("sqlite")


def build_engine(settings: Settings, *, role: str = "serve") -> Engine:
    """An Engine for one process of a server-mode deployment. role "serve": no stream consumers
    (workers run them); role "worker": consumer threads, exact (not fail-open) Redis state."""
    if not is_server_mode(settings):
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


def install_unavailable_handlers(app: FastAPI) -> None:
    """Backend errors -> 503 (never a 500, never an acknowledgement)."""
    import psycopg
    import psycopg_pool
    import redis

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
    app.add_exception_handler(redis.RedisError, unavailable("redis"))
    for exc in (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed):
        app.add_exception_handler(exc, unavailable("postgresql"))


def create_server_app(settings: Settings | None = None) -> FastAPI:
    """The app of one serving process (uvicorn factory: `reelrank.serving.workers:create_server_app`)."""
    from reelrank.serving.app import create_app

    s = settings or Settings()  # type: ignore[call-arg]  # from REELRANK_* env
    engine = build_engine(s, role="serve")
    app = create_app(engine, own_engine=True)
    install_unavailable_handlers(app)
    return app


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
