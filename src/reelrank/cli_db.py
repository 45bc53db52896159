"""`reelrank db ...`: the server-mode database (PostgreSQL): migrations and housekeeping.

Kept apart from cli.py so the embedded commands never import psycopg; it is imported inside the
commands that need it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from reelrank.config import Settings

db_app = typer.Typer(help="Server-mode database (PostgreSQL): schema migrations and housekeeping.",
                     no_args_is_help=True, add_completion=False)  # fmt: skip

DatabaseUrl = Annotated[
    str | None, typer.Option(help="postgresql://user@host:port/db (default: $REELRANK_DATABASE_URL).")
]
SchemaOpt = Annotated[
    str | None, typer.Option(help="Schema of the store (default: $REELRANK_BACKENDS__DATABASE_SCHEMA or reelrank).")
]


def _target(database_url: str | None, schema: str | None) -> tuple[str, str]:
    s = Settings()
    url = database_url or s.database_url
    if not url or not url.startswith(("postgresql://", "postgres://")):
        raise typer.BadParameter("give a postgresql://... URL (or set REELRANK_DATABASE_URL)",
                                 param_hint="--database-url")  # fmt: skip
    return url, schema or s.backends.database_schema


@db_app.command("upgrade")
def upgrade(database_url: DatabaseUrl = None, schema: SchemaOpt = None) -> None:
    """Apply pending schema migrations. Safe to run from several hosts at once (advisory lock)."""
    import psycopg

    from reelrank.state.records import pg_migrations

    url, sch = _target(database_url, schema)
    with psycopg.connect(url, autocommit=True) as conn:
        before = pg_migrations.current_version(conn, sch)
        applied = pg_migrations.upgrade(conn, sch)
        after = pg_migrations.current_version(conn, sch)
    done = ", ".join(f"{v:04d}" for v in applied) if applied else "nothing to apply"
    typer.echo(f"schema {sch}: version {before} -> {after} ({done})")


@db_app.command("status")
def status(database_url: DatabaseUrl = None, schema: SchemaOpt = None) -> None:
    """The schema's version against this build's, and its event day partitions."""
    import psycopg

    from reelrank.state.records import pg_migrations
    from reelrank.state.records.pg_partitions import PartitionManager, partition_name

    url, sch = _target(database_url, schema)
    with psycopg.connect(url, autocommit=True) as conn:
        version = pg_migrations.current_version(conn, sch)
        days = PartitionManager(sch).existing_days(conn, "events") if version else []
    typer.echo(f"schema {sch}: version {version}, this build {pg_migrations.latest_version()}")
    if days:
        typer.echo(f"event partitions: {len(days)}, {partition_name('events', days[0])} .. "
                   f"{partition_name('events', days[-1])}")  # fmt: skip


@db_app.command("maintain")
def maintain(
    database_url: DatabaseUrl = None,
    schema: SchemaOpt = None,
    retention_days: Annotated[float | None, typer.Option(help="Drop day partitions older than this.")] = None,
) -> None:
    """Create day partitions ahead and apply retention now (serving processes also do it periodically)."""
    from reelrank.state.records.pg_partitions import partition_name
    from reelrank.state.records.postgres import PostgresRecordStore

    url, sch = _target(database_url, schema)
    b = Settings().backends
    keep = retention_days if retention_days is not None else b.event_retention_days
    store = PostgresRecordStore(url, schema=sch, pool_size=1, migrate=False, retention_days=keep,
                                partitions_ahead=b.partitions_ahead_days)  # fmt: skip
    try:
        dropped = store.run_maintenance()
    finally:
        store.close()
    typer.echo(f"schema {sch}: dropped {len(dropped)} day partitions"
               + (f" ({', '.join(partition_name('events', d) for d in dropped)})" if dropped else ""))  # fmt: skip
