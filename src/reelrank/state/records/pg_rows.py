"""SQL statements and row conversions of the PostgreSQL record store (postgres.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from reelrank.domain import Event, EventKind, PostStatus, Surface
from reelrank.state.records.base import PostRow

EVENT_COLS = (
    "event_id, user_id, post_id, target_user_id, kind, ts, watch_ms, duration_ms, surface, request_id, position"
)
# The batch's ids, sorted: concurrent batches then take the unique-key locks in the same order.
INSERT_EVENT_IDS = (
    "INSERT INTO event_ids (event_id) SELECT unnest(%s::text[]) ORDER BY 1 ON CONFLICT DO NOTHING RETURNING event_id"
)
COPY_EVENTS = f"COPY events ({EVENT_COLS}) FROM STDIN"
UPSERT_USERS = """
INSERT INTO users (uid, user_id, doc) SELECT * FROM unnest(%s::int8[], %s::text[], %s::jsonb[])
ON CONFLICT (user_id) DO UPDATE SET doc = excluded.doc
"""
# executemany, not unnest: topics and regions are per-row arrays, and unnest flattens arrays of
# arrays. psycopg 3 pipelines executemany, so a batch is still about one round trip.
UPSERT_POST = """
INSERT INTO posts (pid, post_id, creator_uid, kind, topics, category, sensitive, min_age, created_at,
                   allowed_regions, blocked_regions, status, vector, media_vector, doc)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)
ON CONFLICT (post_id) DO UPDATE SET
    creator_uid = excluded.creator_uid, kind = excluded.kind, topics = excluded.topics,
    category = excluded.category, sensitive = excluded.sensitive, min_age = excluded.min_age,
    created_at = excluded.created_at, allowed_regions = excluded.allowed_regions,
    blocked_regions = excluded.blocked_regions, status = excluded.status, vector = excluded.vector,
    media_vector = excluded.media_vector, doc = excluded.doc
"""
POST_ROW_COLS = (
    "pid, post_id, creator_uid, kind, topics, category, sensitive, min_age, created_at, "
    "allowed_regions, blocked_regions, status, vector"
)
REPORT_SCAN_BATCH = 50_000


def vec(blob: bytes | None, dtype: Any = np.float32) -> np.ndarray | None:
    """A writable float vector from bytea (frombuffer alone would be read-only)."""
    return None if blob is None else np.frombuffer(blob, dtype=dtype).copy()


def event_from_row(r: Sequence[Any]) -> Event:
    """Rebuild a stored (already validated) Event without re-validating: replay reads millions."""
    return Event.model_construct(
        event_id=r[0], user_id=r[1], post_id=r[2], target_user_id=r[3], kind=EventKind(r[4]), ts=r[5],
        watch_ms=r[6], duration_ms=r[7], surface=None if r[8] is None else Surface(r[8]),
        request_id=r[9], position=r[10],
    )  # fmt: skip


def post_row(r: Sequence[Any]) -> PostRow:
    return PostRow(
        pid=r[0], post_id=r[1], creator_uid=r[2], kind=r[3], topics=list(r[4]), category=r[5],
        sensitive=r[6], min_age=r[7], created_at=r[8], allowed_regions=None if r[9] is None else list(r[9]),
        blocked_regions=list(r[10]), status=PostStatus(r[11]), vector=vec(r[12]),
    )  # fmt: skip
