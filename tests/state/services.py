"""Where the server-mode contract tests find PostgreSQL and Redis, and what they do when they can't.

The URLs default to the local services of the dev and CI machines and can be pointed elsewhere with
REELRANK_TEST_DATABASE_URL / REELRANK_TEST_REDIS_URL. An unreachable service fails the test under CI
(CI=true): a green run must mean the server backends were tested, not silently skipped. Locally such
tests skip with the reason, so the embedded suite still runs on a laptop without the services.

RUN_TOKEN is unique per test process: every schema and key prefix made by a test carries it, so two
runs against the same servers (two developers, CI beside a developer) never see each other's data.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelrank.config import Settings

PG_URL = os.environ.get("REELRANK_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REELRANK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_TOKEN = f"{os.getpid()}{secrets.token_hex(3)}"


@functools.cache
def _postgres_problem() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure to reach it is reported the same way
        return f"PostgreSQL at {PG_URL} is unreachable ({type(exc).__name__}: {exc})"
    return None


@functools.cache
def _redis_problem() -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        return f"Redis at {REDIS_URL} is unreachable ({type(exc).__name__}: {exc})"
    return None


def _unavailable(problem: str, env: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{problem}; CI must test the server backends (scripts/services starts them in .ci/run)")
    pytest.skip(f"{problem}; start it (scripts/services) or point {env} at one")


def postgres_reachable() -> bool:
    return _postgres_problem() is None


def require_postgres() -> str:
    """The test database URL; fails (CI) or skips (locally) when PostgreSQL cannot be reached."""
    problem = _postgres_problem()
    if problem:
        _unavailable(problem, "REELRANK_TEST_DATABASE_URL")
    return PG_URL


def require_redis() -> str:
    """The test Redis URL; fails (CI) or skips (locally) when Redis cannot be reached."""
    problem = _redis_problem()
    if problem:
        _unavailable(problem, "REELRANK_TEST_REDIS_URL")
    return REDIS_URL


def drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def delete_keys(prefix: str) -> None:
    """Delete every Redis key under `prefix` (SCAN, not KEYS: never blocks a shared server)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        batch = list(client.scan_iter(match=f"{prefix}*", count=1000))
        while batch:
            client.delete(*batch[:1000])
            batch = batch[1000:]
    finally:
        client.close()


_settings_counter = itertools.count()


@contextlib.contextmanager
def server_mode_settings(data_dir: Path, tag: str) -> Iterator[Settings]:
    """Embedded test settings switched to the real PostgreSQL + Redis, in a schema and key prefix of
    their own (unique per run and per use), dropped afterwards."""
    from tests.conftest import make_settings

    s = make_settings(data_dir)
    s.database_url = require_postgres()
    s.redis_url = require_redis()
    n = next(_settings_counter)
    s.backends.database_schema = f"rr_test_{RUN_TOKEN}_{tag}{n}"
    s.backends.redis_prefix = f"rr-test:{RUN_TOKEN}:{tag}{n}"
    try:
        yield s
    finally:
        drop_schema(s.backends.database_schema)
        delete_keys(s.backends.redis_prefix + ":")
