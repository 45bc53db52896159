"""Day partitions of the PostgreSQL record store's time-series tables (events, impressions).

Both tables are `PARTITION BY RANGE (ts)` with one partition per UTC day, named `<table>_YYYYMMDD`
and covering [day * 86400, (day + 1) * 86400). Partitions are created ahead (today and the next few
days) by `PartitionManager.maintain`, and on demand when a batch carries a day that has none yet
(back-filled or test events). Retention drops whole day partitions older than the cutoff: no
DELETE of millions of rows, no vacuum debt.

Creating or dropping a partition takes a short exclusive lock on the parent table, which blocks
concurrent inserts for the moment it lasts; that is why partitions are made ahead in their own short
transaction, never inside an ingest transaction, and why the manager remembers which exist.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Iterable

import psycopg
from psycopg import sql

DAY_S = 86_400
PARTITIONED = ("events", "impressions")
# Partition bounds must be valid dates in the name: years 1..9999 hold every real event time.
_MIN_DAY = (dt.date(1, 1, 2) - dt.date(1970, 1, 1)).days
_MAX_DAY = (dt.date(9999, 12, 30) - dt.date(1970, 1, 1)).days


def day_of(ts: float) -> int:
    """The UTC day number holding `ts`, exactly as the range bounds route the row.

    floor(ts / 86400) alone can round across a boundary for a ts a hair below it; the bounds
    (day * 86400, exact in float64) are the truth, so nudge the estimate to agree with them.
    """
    if not math.isfinite(ts):
        raise ValueError(f"event time {ts!r} is not a finite number")
    day = math.floor(ts / DAY_S)
    if day * DAY_S > ts:
        day -= 1
    elif (day + 1) * DAY_S <= ts:
        day += 1
    if not _MIN_DAY <= day <= _MAX_DAY:
        raise ValueError(f"event time {ts!r} is outside the years 1..9999")
    return day


def partition_name(table: str, day: int) -> str:
    return f"{table}_{(dt.date(1970, 1, 1) + dt.timedelta(days=day)):%Y%m%d}"


def _day_of_name(table: str, name: str) -> int | None:
    suffix = name.removeprefix(f"{table}_")
    if suffix == name or len(suffix) != 8 or not suffix.isdigit():
        return None
    return (dt.datetime.strptime(suffix, "%Y%m%d").date() - dt.date(1970, 1, 1)).days


class PartitionManager:
    """Knows, creates and drops the day partitions of one schema. Thread-safe.

    The set of known days is a cache: another process may create (harmless) or drop (retention)
    partitions; `forget()` makes the next `ensure` look again, which the store does when an insert
    finds no partition for its rows.
    """

    def __init__(self, schema: str) -> None:
        self._schema = schema
        self._known: set[int] | None = None
        self._lock = threading.Lock()

    def _lock_sql(self) -> sql.Composed:
        # One advisory lock per schema serialises DDL on its partitions across processes, so two
        # processes creating the same day never race on the catalog (CREATE ... IF NOT EXISTS alone
        # can still fail with a unique violation on pg_type when both run at once).
        key = sql.Literal(f"reelrank-partitions:{self._schema}")
        return sql.SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(key)

    def existing_days(self, conn: psycopg.Connection, table: str) -> list[int]:
        rows = conn.execute(
            """SELECT c.relname FROM pg_inherits i
               JOIN pg_class c ON c.oid = i.inhrelid
               JOIN pg_class p ON p.oid = i.inhparent
               JOIN pg_namespace n ON n.oid = p.relnamespace
               WHERE n.nspname = %s AND p.relname = %s""",
            (self._schema, table),
        ).fetchall()
        return sorted(d for (name,) in rows if (d := _day_of_name(table, name)) is not None)

    def forget(self) -> None:
        with self._lock:
            self._known = None

    def ensure(self, conn: psycopg.Connection, days: Iterable[int]) -> None:
        """Make sure every table has a partition for each day. `conn` must be in autocommit mode;
        nothing is locked when every day is already known (the common case on the ingest path)."""
        with self._lock:
            if self._known is None:
                # A day counts as known only when every table has its partition.
                self._known = set.intersection(*(set(self.existing_days(conn, t)) for t in PARTITIONED))
            missing = sorted(set(days) - self._known)
            if not missing:
                return
            with conn.transaction():
                conn.execute(self._lock_sql())
                for day in missing:
                    for table in PARTITIONED:
                        conn.execute(
                            sql.SQL(
                                "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
                            ).format(
                                sql.Identifier(self._schema, partition_name(table, day)),
                                sql.Identifier(self._schema, table),
                                sql.Literal(day * DAY_S),
                                sql.Literal((day + 1) * DAY_S),
                            )
                        )
            self._known.update(missing)

    def drop_before(self, conn: psycopg.Connection, cutoff_day: int) -> list[int]:
        """Drop every day partition that ends at or before the start of `cutoff_day`; return the days.

        For events, the ids of the dropped rows leave event_ids in the same transaction: event_ids
        holds one row per stored event, so joining against the partition deletes exactly those, and
        a crash can never leave ids without events (or the reverse). After that, a re-sent event of
        a dropped day is accepted again, as if new: idempotency lasts as long as retention.
        """
        days = set().union(*(self.existing_days(conn, t) for t in PARTITIONED))
        doomed = sorted(d for d in days if d < cutoff_day)
        # Forget them first and run the SQL outside self._lock: a big DELETE must not stall this
        # process's appends, which only need the lock to check the known days.
        with self._lock:
            if self._known is not None:
                self._known.difference_update(doomed)
        dropped: list[int] = []
        for day in doomed:
            with conn.transaction():
                conn.execute(self._lock_sql())  # another process may have dropped it meanwhile
                names = {t: partition_name(t, day) for t in PARTITIONED}
                present = [t for t, n in names.items()
                           if conn.execute("SELECT to_regclass(%s)", (f"{self._schema}.{n}",)).fetchone() != (None,)]
                if "events" in present:
                    conn.execute(
                        sql.SQL("DELETE FROM {} e USING {} p WHERE e.event_id = p.event_id").format(
                            sql.Identifier(self._schema, "event_ids"), sql.Identifier(self._schema, names["events"])
                        )
                    )
                for table in present:
                    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(self._schema, names[table])))
            if present:
                dropped.append(day)
        return dropped
