"""Which implementation of each state interface a process uses, chosen by Settings.

Embedded default (no URLs): SQLite in data_dir, in-process online state and stream. Server mode:
`database_url = postgresql://...` selects PostgreSQL for records; `redis_url = redis://...` selects
Redis for online state and the event stream. The two are independent, so a single process can keep
its records in PostgreSQL and still use in-process online state, say.

Server-mode modules import psycopg / redis, which the embedded default does not need: they are
imported only when selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reelrank.config import Settings
from reelrank.state.online.memory import MemoryOnlineState
from reelrank.state.records.base import RecordStore
from reelrank.state.stream.base import EventStream

if TYPE_CHECKING:
    from reelrank.state.online.redis import RedisOnlineState

_POSTGRES = ("postgresql://", "postgres://")
_SQLITE = "sqlite:///"
_REDIS = ("redis://", "rediss://", "unix://")


def open_records(settings: Settings) -> RecordStore:
    url = settings.database_url
    if url is None:
        from reelrank.state.records.sqlite import SqliteRecordStore

        return SqliteRecordStore(settings.sqlite_path)
    if url.startswith(_SQLITE):
        from reelrank.state.records.sqlite import SqliteRecordStore

        return SqliteRecordStore(url.removeprefix(_SQLITE))  # sqlite:////abs/path or sqlite:///rel/path
    if url.startswith(_POSTGRES):
        from reelrank.state.records.postgres import PostgresRecordStore

        b = settings.backends
        return PostgresRecordStore(
            url, schema=b.database_schema, pool_size=b.db_pool_size, migrate=b.db_migrate_on_open,
            retention_days=b.event_retention_days, partitions_ahead=b.partitions_ahead_days,
        )  # fmt: skip
    raise ValueError(f"database_url must start with postgresql:// or sqlite:///, got {_redact(url)!r}")


def open_online_state(settings: Settings) -> MemoryOnlineState | RedisOnlineState:
    """Both implementations also have `sweep()` (a no-op on Redis), which the engine's maintenance calls."""
    url = settings.redis_url
    if url is None:
        return MemoryOnlineState()
    _check_redis(url)
    from reelrank.state.online.redis import RedisOnlineState

    if settings.backends.redis_fail_open:  # feeds keep being served while Redis is down (degraded)
        from reelrank.state.online.redis_guard import GuardedRedisOnlineState

        return GuardedRedisOnlineState(url, settings.backends.redis_prefix)
    return RedisOnlineState(url, settings.backends.redis_prefix)


def open_stream(settings: Settings) -> EventStream:
    url = settings.redis_url
    if url is None:
        from reelrank.state.stream.memory import MemoryEventStream

        return MemoryEventStream(maxlen=settings.backends.stream_maxlen)
    _check_redis(url)
    from reelrank.state.stream.redis import RedisEventStream

    return RedisEventStream(url, f"{settings.backends.redis_prefix}:events", maxlen=settings.backends.stream_maxlen)


def _check_redis(url: str) -> None:
    if not url.startswith(_REDIS):
        raise ValueError(f"redis_url must start with redis://, rediss:// or unix://, got {_redact(url)!r}")


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}" if at and ":" in creds else url
