"""The embedded record store: one SQLite database file in WAL mode.

Concurrency: SQLite allows one writer at a time, so every write goes through a single writer
connection guarded by a `threading.Lock` (serialising in Python is cheaper than letting connections
fight over the file lock with busy-retries). Reads use one connection per thread (`threading.local`):
under WAL a reader sees the last committed snapshot and never waits for the writer, so the web
server's worker threads read in parallel with ingestion.

Scans page with keyset queries (`WHERE key > last ORDER BY key LIMIT n`) instead of holding one
cursor open across `yield`s: an abandoned or slowly consumed generator then pins no WAL snapshot
(which would stop checkpoints and let the WAL grow), and a scan may be resumed from another thread.

Durability: `synchronous=NORMAL` in WAL mode survives a crash of the process (the engine's failure
mode); only an OS crash or power cut can lose the last few commits, the usual trade for not
fsync-ing every event batch.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

from reelrank.domain import Edge, EdgeKind, Post, PostStatus, Report, User
from reelrank.state.records.base import (
    EdgeRow,
    NotFound,
    PostRecord,
    PostRow,
    RecordError,
    UserRecord,
)
from reelrank.state.records.sqlite_events import SqliteEventLog

# Migrations, applied in order; PRAGMA user_version records how many ran. Append, never edit: a
# database written by an older build upgrades on open, one written by a newer build is refused.
# Each is a script of ';'-separated statements run inside one transaction.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (uid INTEGER PRIMARY KEY, user_id TEXT NOT NULL UNIQUE, json TEXT NOT NULL);
    CREATE TABLE posts (
        pid INTEGER PRIMARY KEY, post_id TEXT NOT NULL UNIQUE,
        creator_uid INTEGER NOT NULL REFERENCES users(uid),
        kind TEXT NOT NULL, topics TEXT NOT NULL, category TEXT, sensitive INTEGER NOT NULL,
        min_age INTEGER, created_at REAL NOT NULL, allowed_regions TEXT, blocked_regions TEXT NOT NULL,
        status TEXT NOT NULL, vector BLOB, media_vector BLOB, json TEXT NOT NULL);
    CREATE INDEX posts_creator ON posts(creator_uid);
    CREATE TABLE edges (
        src_uid INTEGER NOT NULL REFERENCES users(uid), dst_uid INTEGER NOT NULL REFERENCES users(uid),
        kind TEXT NOT NULL, created_at REAL NOT NULL,
        PRIMARY KEY (src_uid, dst_uid, kind)) WITHOUT ROWID;
    CREATE TABLE reports (
        reporter_uid INTEGER NOT NULL REFERENCES users(uid), pid INTEGER NOT NULL REFERENCES posts(pid),
        reason TEXT NOT NULL, created_at REAL NOT NULL,
        PRIMARY KEY (reporter_uid, pid)) WITHOUT ROWID;
    CREATE INDEX reports_pid ON reports(pid);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, post_id TEXT,
        target_user_id TEXT, kind TEXT NOT NULL, ts REAL NOT NULL, watch_ms INTEGER, duration_ms INTEGER,
        surface TEXT, request_id TEXT, position INTEGER);
    CREATE INDEX events_user_ts ON events(user_id, ts);
    CREATE INDEX events_ts ON events(ts)
    """,
    """
    CREATE TABLE impressions (
        seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL, user_id TEXT NOT NULL, post_id TEXT NOT NULL,
        ts REAL NOT NULL, surface TEXT, position INTEGER, sources_json TEXT, scores_json TEXT,
        models_json TEXT, bucket TEXT);
    CREATE INDEX impressions_ts ON impressions(ts)
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)

_UPSERT_POST = """
INSERT INTO posts (post_id, creator_uid, kind, topics, category, sensitive, min_age, created_at,
                   allowed_regions, blocked_regions, status, vector, media_vector, json)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (post_id) DO UPDATE SET
    creator_uid = excluded.creator_uid, kind = excluded.kind, topics = excluded.topics,
    category = excluded.category, sensitive = excluded.sensitive, min_age = excluded.min_age,
    created_at = excluded.created_at, allowed_regions = excluded.allowed_regions,
    blocked_regions = excluded.blocked_regions, status = excluded.status, vector = excluded.vector,
    media_vector = excluded.media_vector, json = excluded.json
"""
_UPSERT_USER = (
    "INSERT INTO users (user_id, json) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET json = excluded.json"
)
_UIDS_OF = "SELECT user_id, uid FROM users WHERE user_id IN (SELECT value FROM json_each(?))"
_PIDS_OF = "SELECT post_id, pid FROM posts WHERE post_id IN (SELECT value FROM json_each(?))"
_POST_ROW_COLS = (
    "pid, post_id, creator_uid, kind, topics, category, sensitive, min_age, created_at, "
    "allowed_regions, blocked_regions, status, vector"
)
_REPORT_SCAN_BATCH = 50_000
# Writer tuning, measured with bench/bench_records.py --ids uuid --preload: once the tables are large,
# a 1,000-event batch dirties about one page per event in each random-key index (event_id, user_id).
# With the defaults (2 MiB cache, checkpoint every 1,000 pages) every commit spills mid-transaction
# and then checkpoints with an fsync; these settings gave 1.3-1.9x throughput at 100k-600k events.
_WRITER_PRAGMAS = (
    "cache_size = -65536",  # 64 MiB: one batch's dirty pages stay in memory until COMMIT
    "wal_autocheckpoint = 16384",  # checkpoint every ~64 MiB of WAL, not every batch
    "journal_size_limit = 67108864",  # truncate the WAL back to 64 MiB after a burst
)


def _vec(blob: bytes | None) -> np.ndarray | None:
    """float32 vector from a BLOB, copied so callers own a writable array (frombuffer is read-only)."""
    return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()


# fmt: off
def _post_params(p: Post, creator_uid: int, vector: np.ndarray) -> tuple[Any, ...]:
    """Parameters of _UPSERT_POST. media_vector is a float64 BLOB so it round-trips exactly."""
    return (
        p.post_id, creator_uid, p.kind.value, json.dumps(p.topics), p.category, int(p.sensitive), p.min_age,
        p.created_at, None if p.allowed_regions is None else json.dumps(p.allowed_regions),
        json.dumps(p.blocked_regions), p.status.value, vector.tobytes(),
        None if p.media_vector is None else np.asarray(p.media_vector, dtype=np.float64).tobytes(),
        p.model_dump_json(exclude={"media_vector"}),
    )


def _post_row(r: Sequence[Any]) -> PostRow:
    return PostRow(
        pid=r[0], post_id=r[1], creator_uid=r[2], kind=r[3], topics=json.loads(r[4]), category=r[5],
        sensitive=bool(r[6]), min_age=r[7], created_at=r[8],
        allowed_regions=None if r[9] is None else json.loads(r[9]), blocked_regions=json.loads(r[10]),
        status=PostStatus(r[11]), vector=_vec(r[12]),
    )
# fmt: on


class SqliteRecordStore(SqliteEventLog):
    """`RecordStore` on one SQLite file. Safe to share between threads; see the module docstring."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 10.0) -> None:
        self._path = str(path)
        self._busy_timeout_s = busy_timeout_s
        self._wlock = threading.Lock()
        self._readers_lock = threading.Lock()
        self._readers: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._closed = False
        self._writer = self._connect()
        mode = self._writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            self._writer.close()
            raise RecordError(f"could not put {self._path} in WAL mode (got {mode!r})")
        for pragma in _WRITER_PRAGMAS:
            self._writer.execute(f"PRAGMA {pragma}")
        try:
            self._migrate()
        except BaseException:
            self._writer.close()
            raise

    # connections and transactions ---------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly the
        # block we mean. check_same_thread=False: close() closes every thread's reader.
        conn = sqlite3.connect(self._path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _migrate(self) -> None:
        with self._tx() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RecordError(f"{self._path} has schema version {version}; this build knows {SCHEMA_VERSION}")
            for script in _MIGRATIONS[version:]:
                for stmt in filter(str.strip, script.split(";")):
                    conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_open(self) -> None:
        if self._closed:
            raise RecordError("the record store is closed")

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection, opened on first use."""
        self._check_open()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            with self._readers_lock:
                self._check_open()
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    def _pages(self, sql: str, start: tuple[Any, ...], batch: int) -> Iterator[list[Any]]:
        """Keyset pagination. `sql` selects the key columns first, filters `(key) > (?, ...)` and
        ends in `LIMIT ?`; each page is its own statement, so no snapshot outlives a batch."""
        last, width = start, len(start)
        while rows := self._reader().execute(sql, (*last, batch)).fetchall():
            yield rows
            last = tuple(rows[-1][:width])

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the writer connection; rolled back on any error.

        BEGIN IMMEDIATE takes the write lock up front, so a read-then-write inside the block (an
        existence check, the duplicate check) cannot be invalidated by another process in between.
        """
        with self._wlock:
            self._check_open()
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @staticmethod
    def _lookup(conn: sqlite3.Connection, sql: str, keys: Sequence[str]) -> dict[str, int]:
        """{key: id} from a `... IN (SELECT value FROM json_each(?))` query. json_each passes any
        number of keys as one parameter: no variable-limit chunking, one cached statement."""
        return dict(conn.execute(sql, (json.dumps(list(keys)),)).fetchall()) if keys else {}

    def _uid(self, conn: sqlite3.Connection, user_id: str) -> int:
        row = conn.execute("SELECT uid FROM users WHERE user_id = ?", (user_id,)).fetchone()
        if row is None:
            raise NotFound("user", user_id)
        return int(row[0])

    # users -----------------------------------------------------------------------------------------
    def upsert_users(self, users: Sequence[User]) -> list[int]:
        """Insert or update users in one transaction. ON CONFLICT DO UPDATE (not INSERT OR REPLACE,
        which deletes and re-inserts) so an existing account keeps its uid."""
        if not users:
            return []
        rows = [(u.user_id, u.model_dump_json()) for u in users]
        with self._tx() as conn:
            conn.executemany(_UPSERT_USER, rows)
            uids = self._lookup(conn, _UIDS_OF, [u.user_id for u in users])
        return [uids[u.user_id] for u in users]

    def get_user(self, user_id: str) -> UserRecord | None:
        row = self._reader().execute("SELECT uid, json FROM users WHERE user_id = ?", (user_id,)).fetchone()
        return None if row is None else UserRecord(uid=row[0], user=User.model_validate_json(row[1]))

    def user_uids(self, user_ids: Sequence[str]) -> dict[str, int]:
        return self._lookup(self._reader(), _UIDS_OF, user_ids)

    def scan_users(self, batch: int = 10_000) -> Iterator[list[UserRecord]]:
        for rows in self._pages("SELECT uid, json FROM users WHERE uid > ? ORDER BY uid LIMIT ?", (0,), batch):
            yield [UserRecord(uid=uid, user=User.model_validate_json(js)) for uid, js in rows]

    # posts -----------------------------------------------------------------------------------------
    def upsert_posts(self, posts: Sequence[Post], vectors: np.ndarray) -> list[int]:
        """Insert or update posts with their content vectors in one transaction (all or nothing).

        The filterable fields get their own columns so the catalogue loads without parsing JSON
        per post; the full Post (minus media_vector, kept as a float64 BLOB) is kept as JSON so
        get_post returns exactly what was stored.
        """
        if not posts:
            return []
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != len(posts):
            raise ValueError(f"vectors must have shape ({len(posts)}, D), got {vecs.shape}")
        with self._tx() as conn:
            creators = self._lookup(conn, _UIDS_OF, list(dict.fromkeys(p.creator_id for p in posts)))
            for p in posts:
                if p.creator_id not in creators:
                    raise NotFound("user", p.creator_id)
            rows = [_post_params(p, creators[p.creator_id], vecs[i]) for i, p in enumerate(posts)]
            conn.executemany(_UPSERT_POST, rows)
            pids = self._lookup(conn, _PIDS_OF, [p.post_id for p in posts])
        return [pids[p.post_id] for p in posts]

    def get_post(self, post_id: str) -> PostRecord | None:
        sql = "SELECT pid, creator_uid, json, media_vector, vector FROM posts WHERE post_id = ?"
        row = self._reader().execute(sql, (post_id,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[2])
        if row[3] is not None:
            data["media_vector"] = np.frombuffer(row[3], dtype=np.float64).tolist()
        return PostRecord(pid=row[0], creator_uid=row[1], post=Post.model_validate(data), vector=_vec(row[4]))

    def set_post_status(self, post_id: str, status: PostStatus) -> int:
        with self._tx() as conn:
            row = conn.execute(
                "UPDATE posts SET status = ?1, json = json_set(json, '$.status', ?1) WHERE post_id = ?2 RETURNING pid",
                (status.value, post_id),
            ).fetchone()
            if row is None:
                raise NotFound("post", post_id)
        return int(row[0])

    def scan_posts(self, after_pid: int = 0, batch: int = 10_000) -> Iterator[list[PostRow]]:
        sql = f"SELECT {_POST_ROW_COLS} FROM posts WHERE pid > ? ORDER BY pid LIMIT ?"
        for rows in self._pages(sql, (after_pid,), batch):
            yield [_post_row(r) for r in rows]

    def count_posts(self) -> int:
        return int(self._reader().execute("SELECT count(*) FROM posts").fetchone()[0])

    # social graph and reports ----------------------------------------------------------------------
    def put_edge(self, edge: Edge) -> tuple[int, int]:
        with self._tx() as conn:
            src, dst = self._uid(conn, edge.src), self._uid(conn, edge.dst)
            conn.execute(
                "INSERT INTO edges (src_uid, dst_uid, kind, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (src, dst, edge.kind.value, edge.created_at),
            )
        return src, dst

    def delete_edge(self, src: str, dst: str, kind: EdgeKind) -> bool:
        """Remove an edge; an unknown account simply has no edge, so that is False, not NotFound."""
        with self._tx() as conn:
            cur = conn.execute(
                """DELETE FROM edges WHERE kind = ?
                   AND src_uid = (SELECT uid FROM users WHERE user_id = ?)
                   AND dst_uid = (SELECT uid FROM users WHERE user_id = ?)""",
                (kind.value, src, dst),
            )
            return cur.rowcount > 0

    def scan_edges(self, batch: int = 50_000) -> Iterator[list[EdgeRow]]:
        sql = """SELECT src_uid, dst_uid, kind FROM edges WHERE (src_uid, dst_uid, kind) > (?, ?, ?)
                 ORDER BY src_uid, dst_uid, kind LIMIT ?"""
        for rows in self._pages(sql, (0, 0, ""), batch):
            yield [EdgeRow(src_uid=s, dst_uid=d, kind=EdgeKind(k)) for s, d, k in rows]

    def add_report(self, report: Report) -> int:
        with self._tx() as conn:
            reporter = self._uid(conn, report.reporter_id)
            row = conn.execute("SELECT pid FROM posts WHERE post_id = ?", (report.post_id,)).fetchone()
            if row is None:
                raise NotFound("post", report.post_id)
            pid = int(row[0])
            conn.execute(
                "INSERT INTO reports (reporter_uid, pid, reason, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (reporter, pid, report.reason, report.created_at),
            )
            return int(conn.execute("SELECT count(*) FROM reports WHERE pid = ?", (pid,)).fetchone()[0])

    def scan_reports(self) -> Iterator[tuple[int, int]]:
        sql = "SELECT reporter_uid, pid FROM reports WHERE (reporter_uid, pid) > (?, ?) ORDER BY 1, 2 LIMIT ?"
        for rows in self._pages(sql, (0, 0), _REPORT_SCAN_BATCH):
            yield from ((int(r), int(p)) for r, p in rows)

    # lifecycle -------------------------------------------------------------------------------------
    def maintain(self) -> None:
        """Nothing to do periodically: the embedded store keeps every event (no retention) and
        SQLite checkpoints its WAL by itself."""

    def close(self) -> None:
        """Close the writer and every thread's reader. Idempotent; call it at shutdown, when no
        other thread is mid-query."""
        with self._wlock:
            if self._closed:
                return
            self._closed = True
            with suppress(sqlite3.Error):
                self._writer.execute("PRAGMA optimize")  # keep planner statistics fresh for the next open
            self._writer.close()
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
