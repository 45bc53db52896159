"""A generic interaction file (CSV, TSV or Parquet) plus optional item and user metadata files.

Interactions: one row per event. Columns (case-insensitive; the first alias found is used):
  user       user | user_id | userid                       (required)
  item       item | item_id | post_id | itemid | movieid     (required)
  time       timestamp | ts | time  (epoch seconds, epoch ms, or ISO 8601)
             or order | position | seq (an integer per user); one of the two is required
  kind       kind | event | event_kind | event_type  (an EventKind: view, like, share, skip, ...;
             default like)
  value      value | watch_ratio  (optional: for a view, the share of the post watched, 0..1)
Items (optional): item, title | caption, topics | genres | tags ("|" or "," separated), creator,
duration_ms, created_at. Users (optional): user, region, birth_year, language, interests.

Items without metadata become posts with an empty caption by the creator "imported"; users
without metadata get defaults. Rows are sorted by (user, time) before they are written.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reelrank.domain import Event, EventKind, Post, User

ALIASES = {
    "user": ("user", "user_id", "userid"),
    "item": ("item", "item_id", "post_id", "itemid", "movieid"),
    "timestamp": ("timestamp", "ts", "time"),
    "order": ("order", "position", "seq"),
    "kind": ("kind", "event", "event_kind", "event_type"),
    "value": ("value", "watch_ratio"),
    "title": ("title", "caption"),
    "topics": ("topics", "genres", "tags"),
    "creator": ("creator", "creator_id"),
    "duration_ms": ("duration_ms",),
    "created_at": ("created_at",),
    "region": ("region",),
    "birth_year": ("birth_year",),
    "language": ("language",),
    "interests": ("interests",),
}
ORDER_T0 = 1_600_000_000.0  # rows with only an order get ts = ORDER_T0 + order seconds
DEFAULT_CREATOR = "imported"
DEFAULT_VIEW_MS = 10_000


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV, TSV or Parquet file as dicts with lower-cased column names."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq  # optional dependency (the `ml` extra)

        table = pq.read_table(path)
        return [{k.lower(): v for k, v in row.items()} for row in table.to_pylist()]
    with open(path, newline="", encoding="utf-8") as f:
        sample = f.read(4096)
        f.seek(0)
        delim = "\t" if path.suffix.lower() == ".tsv" or sample.count("\t") > sample.count(",") else ","
        return [{(k or "").strip().lower(): v for k, v in row.items()} for row in csv.DictReader(f, delimiter=delim)]


def _col(row: dict[str, Any], name: str) -> Any:
    for alias in ALIASES[name]:
        v = row.get(alias)
        if v is not None and v != "":
            return v
    return None


def parse_time(v: Any) -> float:
    if isinstance(v, datetime):
        return v.timestamp()
    try:
        x = float(v)
    except (TypeError, ValueError):
        return datetime.fromisoformat(str(v).replace("Z", "+00:00")).timestamp()
    return x / 1000.0 if x > 1e11 else x  # epoch milliseconds


def _tags(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [str(t).strip() for t in v if str(t).strip()][:16]
    sep = "|" if "|" in str(v) else ","
    return [t.strip() for t in str(v).split(sep) if t.strip()][:16]


@dataclass
class Interactions:
    users: list[User]
    posts: list[Post]
    rows: list[tuple[str, str, float, EventKind, float | None]]  # user, item, ts, kind, value

    def events(self) -> Iterator[Event]:
        durations = {p.post_id: p.duration_ms for p in self.posts}
        for n, (user, item, ts, kind, value) in enumerate(self.rows):
            extra: dict[str, Any] = {}
            if kind is EventKind.VIEW:
                dur = durations.get(item) or DEFAULT_VIEW_MS
                frac = 1.0 if value is None or not math.isfinite(value) else min(max(value, 0.0), 1.0)
                extra = {"watch_ms": round(frac * dur), "duration_ms": dur}
            yield Event(event_id=f"imp-{n}-{user}-{item}"[:128], user_id=user, post_id=item, kind=kind, ts=ts,
                        **extra)


def read_interactions(path: Path, items_path: Path | None = None, users_path: Path | None = None) -> Interactions:
    raw = read_table(path)
    rows: list[tuple[str, str, float, EventKind, float | None]] = []
    for i, r in enumerate(raw):
        user, item = _col(r, "user"), _col(r, "item")
        if user is None or item is None:
            raise ValueError(f"{path}: row {i + 1} lacks a user or item column ({sorted(r)})")
        t, order = _col(r, "timestamp"), _col(r, "order")
        if t is None and order is None:
            raise ValueError(f"{path}: row {i + 1} has neither a timestamp nor an order column")
        ts = parse_time(t) if t is not None else ORDER_T0 + float(order)
        kind = EventKind(str(_col(r, "kind") or "like").strip().lower())
        value = _col(r, "value")
        rows.append((str(user), str(item), ts, kind, None if value is None else float(value)))
    rows.sort(key=lambda x: (x[0], x[2]))
    posts = _posts({it for _, it, *_ in rows}, items_path)
    creators = sorted({p.creator_id for p in posts})
    users = _users({u for u, *_ in rows}, users_path, exclude=set(creators))
    return Interactions([User(user_id=c) for c in creators] + users, posts, rows)


def _posts(items: set[str], items_path: Path | None) -> list[Post]:
    meta = {str(_col(r, "item")): r for r in read_table(items_path)} if items_path else {}
    posts = []
    for item in sorted(items | set(meta)):
        m = meta.get(item, {})
        dur, created = _col(m, "duration_ms"), _col(m, "created_at")
        posts.append(Post(post_id=item, creator_id=str(_col(m, "creator") or DEFAULT_CREATOR),
                          caption=str(_col(m, "title") or ""), topics=_tags(_col(m, "topics")),
                          duration_ms=int(float(dur)) if dur else None,
                          created_at=parse_time(created) if created is not None else ORDER_T0))
    return posts


def _users(ids: set[str], users_path: Path | None, exclude: set[str]) -> list[User]:
    meta = {str(_col(r, "user")): r for r in read_table(users_path)} if users_path else {}
    out = []
    for uid in sorted((ids | set(meta)) - exclude):
        m = meta.get(uid, {})
        birth = _col(m, "birth_year")
        out.append(User(user_id=uid, region=str(_col(m, "region") or "US"), language=str(_col(m, "language") or "en"),
                        birth_year=int(float(birth)) if birth else None, interests=_tags(_col(m, "interests"))))
    return out
