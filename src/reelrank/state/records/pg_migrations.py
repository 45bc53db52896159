"""A small versioned migration runner for the PostgreSQL record store.

Migrations are numbered SQL files in `migrations/` (`0001_initial.sql`, `0002_...sql`): append new
ones, never edit an applied one. `schema_version` in the store's schema records each applied step.
Each step runs in its own transaction together with its schema_version row, so a failed step
leaves the schema at the previous version, never half-way.

Many serving processes may start at once: the runner takes a transaction-level advisory lock keyed
by the schema name, so exactly one applies a pending step and the others wait, then see it applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from reelrank.state.records.base import RecordError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Schema names go into DDL; a strict shape keeps them valid unquoted and in partition names.
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def check_schema_name(schema: str) -> str:
    if not _SCHEMA.match(schema):
        raise ValueError(f"schema name {schema!r} must match {_SCHEMA.pattern}")
    return schema


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; versions must run 1, 2, 3, ... without gaps."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        m = _FILE.match(path.name)
        if m is None:
            raise RecordError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(m.group(1)), m.group(2), path.read_text()))
    for i, mig in enumerate(found, start=1):
        if mig.version != i:
            raise RecordError(f"migration {i:04d} is missing (found {mig.version:04d}_{mig.name}.sql)")
    return found


def latest_version() -> int:
    return len(load_migrations())


def _lock_key(schema: str) -> sql.Composed:
    # hashtext: a stable 32-bit key from the schema name, so stores in different schemas never wait
    # on each other's migrations.
    return sql.SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(sql.Literal(f"reelrank-migrate:{schema}"))


def current_version(conn: psycopg.Connection, schema: str) -> int:
    """The highest applied version, 0 for a missing schema or an empty one."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.schema_version",)).fetchone()
    if row is None or not row[0]:
        return 0
    q = sql.SQL("SELECT coalesce(max(version), 0) FROM {}.schema_version").format(sql.Identifier(schema))
    got = conn.execute(q).fetchone()
    return int(got[0]) if got else 0


def upgrade(conn: psycopg.Connection, schema: str, migrations: list[Migration] | None = None) -> list[int]:
    """Apply every pending migration to `schema` (created if missing); return the versions applied.

    `conn` must be in autocommit mode: each step opens its own transaction. Refuses a schema that a
    newer build has already upgraded past what this build knows.
    """
    check_schema_name(schema)
    steps = load_migrations() if migrations is None else migrations
    ident = sql.Identifier(schema)
    applied: list[int] = []
    while True:
        with conn.transaction():
            conn.execute(_lock_key(schema))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.schema_version (version integer PRIMARY KEY, name text NOT NULL, "
                    "applied_at timestamptz NOT NULL DEFAULT now())"
                ).format(ident)
            )
            version = current_version(conn, schema)
            if version > len(steps):
                raise RecordError(f"schema {schema} is at version {version}; this build knows {len(steps)}")
            if version == len(steps):
                return applied
            step = steps[version]
            # SET LOCAL: the unqualified names in the step land in the store's schema, and the
            # setting ends with the transaction (the connection may go back to a pool).
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(ident))
            conn.execute(step.sql.encode())  # bytes: run as one multi-statement script
            conn.execute(
                sql.SQL("INSERT INTO {}.schema_version (version, name) VALUES (%s, %s)").format(ident),
                (step.version, step.name),
            )
            applied.append(step.version)


def require_current(conn: psycopg.Connection, schema: str) -> None:
    """Raise unless `schema` is exactly at this build's version (for stores opened without migrating)."""
    version, known = current_version(conn, schema), latest_version()
    if version < known:
        raise RecordError(
            f"schema {schema} is at version {version}, this build needs {known}: run `reelrank db upgrade`"
        )
    if version > known:
        raise RecordError(f"schema {schema} is at version {version}; this build knows {known}")
