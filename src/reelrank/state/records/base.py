"""The record store interface: durable users, posts, edges, reports and events.

SQLite (WAL) implements it for the embedded default; PostgreSQL implements the same Protocol in
server mode. Both pass the same contract tests (tests/state/test_records_contract.py).

Internal integer ids: every user gets a dense `uid` and every post a dense `pid` (assigned once, on
first insert, never reused). The in-memory catalogue, the ANN index and online state key on these
integers; the platform only ever sees its own string ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from reelrank.domain import Edge, EdgeKind, Event, Post, PostStatus, Report, User


class RecordError(Exception):
    """Base class for record-store errors the API turns into 4xx/5xx responses."""


class NotFound(RecordError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} '{ident}' does not exist")
        self.what = what
        self.ident = ident


class Conflict(RecordError):
    pass


@dataclass(frozen=True, slots=True)
class UserRecord:
    uid: int
    user: User


@dataclass(frozen=True, slots=True)
class PostRecord:
    pid: int
    creator_uid: int
    post: Post
    vector: np.ndarray | None  # (D,) float32 content vector stored with the post


@dataclass(frozen=True, slots=True)
class PostRow:
    """A post as the in-memory catalogue loads it: the fields the funnel filters on, no caption."""

    pid: int
    post_id: str
    creator_uid: int
    kind: str
    topics: list[str]
    category: str | None
    sensitive: bool
    min_age: int | None
    created_at: float
    allowed_regions: list[str] | None
    blocked_regions: list[str]
    status: PostStatus
    vector: np.ndarray | None  # (D,) float32


@dataclass(frozen=True, slots=True)
class EdgeRow:
    src_uid: int
    dst_uid: int
    kind: EdgeKind


@dataclass(frozen=True, slots=True)
class ImpressionRecord:
    """One served post on one page: what was shown, where, why (sources) and with which scores."""

    request_id: str
    user_id: str
    post_id: str
    ts: float
    surface: str
    position: int
    sources: tuple[str, ...] = ()
    # stage score / feature column -> value (score, prerank, value, p:like, similarity, f:like_rate, ...)
    scores: dict[str, float] = field(default_factory=dict)
    model_versions: dict[str, str] = field(default_factory=dict)  # "ranker" -> "v3", ...
    bucket: str = ""  # experiment bucket ("formula" | "ranker" | ...)


class RecordStore(Protocol):
    # users -----------------------------------------------------------------------------------
    def upsert_users(self, users: Sequence[User]) -> list[int]:
        """Insert or replace users (all or nothing); return their uids in input order."""
        ...

    def get_user(self, user_id: str) -> UserRecord | None: ...

    def user_uids(self, user_ids: Sequence[str]) -> dict[str, int]:
        """The uids of those user ids that exist."""
        ...

    def scan_users(self, batch: int = 10_000) -> Iterator[list[UserRecord]]: ...

    # posts -----------------------------------------------------------------------------------
    def upsert_posts(self, posts: Sequence[Post], vectors: np.ndarray) -> list[int]:
        """Insert or replace posts with their (N, D) float32 content vectors, all or nothing.

        Every creator must exist (NotFound otherwise, nothing written). A replaced post keeps its pid.
        """
        ...

    def get_post(self, post_id: str) -> PostRecord | None: ...

    def set_post_status(self, post_id: str, status: PostStatus) -> int:
        """Set a post's status; return its pid. NotFound if it does not exist."""
        ...

    def scan_posts(self, after_pid: int = 0, batch: int = 10_000) -> Iterator[list[PostRow]]:
        """All posts with pid > after_pid, in pid order, in batches (for loading the catalogue)."""
        ...

    def count_posts(self) -> int: ...

    # social graph and reports ------------------------------------------------------------------
    def put_edge(self, edge: Edge) -> tuple[int, int]:
        """Store an edge (idempotent); return (src_uid, dst_uid). NotFound for unknown accounts."""
        ...

    def delete_edge(self, src: str, dst: str, kind: EdgeKind) -> bool:
        """Remove an edge; True if it existed."""
        ...

    def scan_edges(self, batch: int = 50_000) -> Iterator[list[EdgeRow]]: ...

    def add_report(self, report: Report) -> int:
        """Store a report (one per reporter and post); return how many distinct reporters the post has."""
        ...

    def scan_reports(self) -> Iterator[tuple[int, int]]:
        """(reporter_uid, pid) for every report."""
        ...

    # events ------------------------------------------------------------------------------------
    def append_events(self, events: Sequence[Event]) -> list[bool]:
        """Durably append events in one transaction. Idempotent by event_id: the result says, per
        input event, whether it was new (True) or already stored (False)."""
        ...

    def recent_events(self, user_id: str, limit: int = 200) -> list[Event]:
        """The user's most recent events, newest first."""
        ...

    def scan_events(self, since_ts: float = 0.0, batch: int = 50_000) -> Iterator[list[Event]]:
        """Events with ts >= since_ts in ts order (for rebuilding online state after a restart)."""
        ...

    def count_events(self) -> int: ...

    # impressions -------------------------------------------------------------------------------
    def append_impressions(self, impressions: Sequence[ImpressionRecord]) -> None:
        """Durably append served impressions in one transaction (the impression logger batches them)."""
        ...

    def scan_impressions(self, since_ts: float = 0.0, until_ts: float = float("inf"),
                         batch: int = 50_000) -> Iterator[list[ImpressionRecord]]:
        """Impressions with since_ts <= ts < until_ts, in ts order (for the labeller)."""
        ...

    # housekeeping --------------------------------------------------------------------------------
    def maintain(self) -> None:
        """Periodic housekeeping (PostgreSQL: create day partitions ahead, drop those past retention).
        Cheap to call often: implementations rate-limit themselves. The engine's maintenance loop
        calls it."""
        ...

    def close(self) -> None: ...
