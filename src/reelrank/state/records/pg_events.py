"""Events and impressions of `PostgresRecordStore` (postgres.py explains idempotency and partitions)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, LiteralString

import psycopg

from reelrank.domain import Event
from reelrank.state.records.base import ImpressionRecord
from reelrank.state.records.impression_rows import IMPRESSION_COLS, impression_from_row, impression_row
from reelrank.state.records.pg_partitions import PartitionManager, day_of
from reelrank.state.records.pg_rows import COPY_EVENTS, EVENT_COLS, INSERT_EVENT_IDS, event_from_row


class PgEventLog:
    """Mixed into PostgresRecordStore, which provides the pool and the partition manager."""

    if TYPE_CHECKING:
        _partitions: PartitionManager

        def _conn(self) -> AbstractContextManager[psycopg.Connection]: ...

        def _one(self, query: LiteralString, params: Sequence[Any] = ()) -> Any: ...

    # events --------------------------------------------------------------------------------------------
    def append_events(self, events: Sequence[Event]) -> list[bool]:
        if not events:
            return []
        first: dict[str, Event] = {}
        for e in events:  # duplicates inside the batch: only the first copy is a candidate
            first.setdefault(e.event_id, e)
        fresh = list(first.values())
        days = {day_of(e.ts) for e in fresh}
        rows = [(
            e.event_id, e.user_id, e.post_id, e.target_user_id, e.kind.value, e.ts, e.watch_ms, e.duration_ms,
            None if e.surface is None else e.surface.value, e.request_id, e.position,
        ) for e in fresh]  # fmt: skip
        for attempt in range(2):
            with self._conn() as conn:
                self._partitions.ensure(conn, days)
                try:
                    with conn.transaction():
                        stored = {r[0] for r in conn.execute(INSERT_EVENT_IDS, (sorted(first),)).fetchall()}
                        if stored:
                            with conn.cursor() as cur, cur.copy(COPY_EVENTS) as copy:
                                for row in rows:
                                    if row[0] in stored:
                                        copy.write_row(row)
                    break
                except psycopg.errors.CheckViolation:
                    # No partition for a row: another process's retention dropped one we had cached.
                    # The transaction rolled back, ids included; look again and retry once.
                    self._partitions.forget()
                    if attempt:
                        raise
        result: list[bool] = []
        for e in events:
            is_new = e.event_id in stored
            result.append(is_new)
            stored.discard(e.event_id)  # later copies in the same batch are duplicates
        return result

    def recent_events(self, user_id: str, limit: int = 200) -> list[Event]:
        if limit <= 0:
            return []
        query = f"SELECT {EVENT_COLS} FROM events WHERE user_id = %s ORDER BY ts DESC, seq DESC LIMIT %s"
        with self._conn() as conn:
            return [event_from_row(r) for r in conn.execute(query, (user_id, limit)).fetchall()]

    def scan_events(self, since_ts: float = 0.0, batch: int = 50_000) -> Iterator[list[Event]]:
        """Events with ts >= since_ts in (ts, seq) order. The extra `ts >= %s` lets the planner prune
        whole day partitions, which a row comparison alone does not."""
        query = f"""SELECT ts, seq, {EVENT_COLS} FROM events WHERE ts >= %s AND (ts, seq) > (%s, %s)
                    ORDER BY ts, seq LIMIT %s"""
        last: tuple[float, int] = (since_ts, 0)
        while True:
            with self._conn() as conn:
                rows = conn.execute(query, (last[0], *last, batch)).fetchall()
            if not rows:
                return
            yield [event_from_row(r[2:]) for r in rows]
            last = (rows[-1][0], rows[-1][1])

    def count_events(self) -> int:
        return int(self._one("SELECT count(*) FROM events")[0])

    # impressions -------------------------------------------------------------------------------------
    def append_impressions(self, impressions: Sequence[ImpressionRecord]) -> None:
        if not impressions:
            return
        with self._conn() as conn:
            self._partitions.ensure(conn, {day_of(r.ts) for r in impressions})
            copy_sql = f"COPY impressions ({IMPRESSION_COLS}) FROM STDIN"
            with conn.transaction(), conn.cursor() as cur, cur.copy(copy_sql) as copy:
                for r in impressions:
                    copy.write_row(impression_row(r))

    def scan_impressions(self, since_ts: float = 0.0, until_ts: float = float("inf"),
                         batch: int = 50_000) -> Iterator[list[ImpressionRecord]]:
        query = f"""SELECT ts, seq, {IMPRESSION_COLS} FROM impressions WHERE ts >= %s AND ts < %s
                    AND (ts, seq) > (%s, %s) ORDER BY ts, seq LIMIT %s"""
        last: tuple[float, int] = (since_ts, 0)
        while True:
            with self._conn() as conn:
                rows = conn.execute(query, (last[0], until_ts, *last, batch)).fetchall()
            if not rows:
                return
            yield [impression_from_row(r[2:]) for r in rows]
            last = (rows[-1][0], rows[-1][1])

