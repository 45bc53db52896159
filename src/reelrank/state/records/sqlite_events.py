"""The append-only logs of the embedded record store (state/records/sqlite.py): events and impressions.

A mixin of `SqliteRecordStore`: it uses the store's writer transaction (`_tx`), per-thread readers
(`_reader`) and keyset paging (`_pages`), and owns nothing else.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from reelrank.domain import Event, EventKind, Surface
from reelrank.state.records.base import ImpressionRecord
from reelrank.state.records.impression_rows import IMPRESSION_COLS, impression_from_row, impression_row

EVENT_COLS = (
    "event_id, user_id, post_id, target_user_id, kind, ts, watch_ms, duration_ms, surface, request_id, position"
)
# ON CONFLICT names the event_id constraint only: any other violation (NOT NULL ...) still raises.
_INSERT_NEW_EVENT = (f"INSERT INTO events ({EVENT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                     " ON CONFLICT (event_id) DO NOTHING")


# fmt: off
def event_row(e: Event) -> tuple[Any, ...]:
    # _value_ rather than .value: the same string, without the enum property's lookup (per event, per batch)
    return (
        e.event_id, e.user_id, e.post_id, e.target_user_id, e.kind._value_, e.ts, e.watch_ms, e.duration_ms,
        None if e.surface is None else e.surface._value_, e.request_id, e.position,
    )


def event_from_row(r: Sequence[Any]) -> Event:
    """Rebuild an Event without re-validating: rows were validated on the way in, and validation
    would dominate the cost of replaying millions of events at startup."""
    return Event.model_construct(
        event_id=r[0], user_id=r[1], post_id=r[2], target_user_id=r[3], kind=EventKind(r[4]), ts=r[5],
        watch_ms=r[6], duration_ms=r[7], surface=None if r[8] is None else Surface(r[8]),
        request_id=r[9], position=r[10],
    )
# fmt: on


class SqliteEventLog:
    """Events and impressions of `SqliteRecordStore` (see RecordStore in base.py for the contract)."""

    if TYPE_CHECKING:  # provided by SqliteRecordStore, which this is mixed into
        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _reader(self) -> sqlite3.Connection: ...

        def _pages(self, sql: str, start: tuple[Any, ...], batch: int) -> Iterator[list[Any]]: ...

    # events ----------------------------------------------------------------------------------------
    def append_events(self, events: Sequence[Event]) -> list[bool]:
        """Append a batch in one transaction, skipping event_ids already stored (or repeated earlier
        in the batch).

        One executemany `INSERT ... ON CONFLICT (event_id) DO NOTHING` of the whole batch; the change
        count says whether every row went in (the usual case: then no lookup at all). Otherwise the rows
        this call inserted are read back by rowid: `seq` is the rowid, and a new row gets max(seq) + 1
        while BEGIN IMMEDIATE holds the write lock, so they are exactly the rows with seq > the max read
        before the insert. Against the former lookup of the batch's ids then a plain insert of the new ones
        (`bench/bench_records.py --runs 3 --batches 50 --ids uuid`, interleaved): 83-101k -> 104-111k
        events/s with 2% repeats per batch, 100-101k -> 111-126k with none.
        """
        if not events:
            return []
        rows = [event_row(e) for e in events]
        with self._tx() as conn:
            top = conn.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
            before = conn.total_changes
            conn.executemany(_INSERT_NEW_EVENT, rows)
            if conn.total_changes - before == len(rows):
                return [True] * len(rows)
            stored = {r[0] for r in conn.execute("SELECT event_id FROM events WHERE seq > ?", (top,))}
        result: list[bool] = []
        for r in rows:  # the first row of an id this call stored is new; any later one repeats it
            is_new = r[0] in stored
            result.append(is_new)
            if is_new:
                stored.discard(r[0])
        return result

    def recent_events(self, user_id: str, limit: int = 200) -> list[Event]:
        if limit <= 0:
            return []
        sql = f"SELECT {EVENT_COLS} FROM events WHERE user_id = ? ORDER BY ts DESC, seq DESC LIMIT ?"
        rows = self._reader().execute(sql, (user_id, limit)).fetchall()
        return [event_from_row(r) for r in rows]

    def scan_events(self, since_ts: float = 0.0, batch: int = 50_000) -> Iterator[list[Event]]:
        """Events with ts >= since_ts ordered by (ts, seq): seq breaks ties, so keyset paging never
        skips or repeats events that share a timestamp. Starting after (since_ts, 0) includes ts ==
        since_ts because seq >= 1."""
        sql = f"SELECT ts, seq, {EVENT_COLS} FROM events WHERE (ts, seq) > (?, ?) ORDER BY ts, seq LIMIT ?"
        for rows in self._pages(sql, (since_ts, 0), batch):
            yield [event_from_row(r[2:]) for r in rows]

    def count_events(self) -> int:
        return int(self._reader().execute("SELECT count(*) FROM events").fetchone()[0])

    # impressions -----------------------------------------------------------------------------------
    def append_impressions(self, impressions: Sequence[ImpressionRecord]) -> None:
        if not impressions:
            return
        sql = f"INSERT INTO impressions ({IMPRESSION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        with self._tx() as conn:
            conn.executemany(sql, [impression_row(r) for r in impressions])

    def scan_impressions(self, since_ts: float = 0.0, until_ts: float = float("inf"),
                         batch: int = 50_000) -> Iterator[list[ImpressionRecord]]:
        sql = (f"SELECT ts, seq, {IMPRESSION_COLS} FROM impressions WHERE (ts, seq) > (?, ?) AND ts < ?"
               " ORDER BY ts, seq LIMIT ?")
        last: tuple[float, int] = (since_ts, 0)
        while rows := self._reader().execute(sql, (*last, until_ts, batch)).fetchall():
            yield [impression_from_row(r[2:]) for r in rows]
            last = (rows[-1][0], rows[-1][1])
