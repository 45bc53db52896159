"""Writes an imported data set through the engine's own writers, in batches, with progress bars.

Users and creators first (posts need their creator), then posts (vectorised by the engine's content
vectorizer: MiniLM for real runs, the hashing encoder in tests), then events (validated, stored
idempotently by event_id and folded into online state, exactly as the API would). Re-running an
import changes nothing: users and posts are upserts, events are deduplicated by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

from tqdm import tqdm

from reelrank.domain import Event, Post, User

if TYPE_CHECKING:
    from reelrank.engine import Engine

T = TypeVar("T")
USER_BATCH = 5000
POST_BATCH = 256


@dataclass(frozen=True)
class ImportCounts:
    users: int
    posts: int
    events: int
    duplicates: int


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def bulk_load(engine: Engine, users: Sequence[User], posts: Sequence[Post], events: Iterable[Event],
              n_events: int | None = None, progress: bool = True) -> ImportCounts:
    bar = tqdm(total=len(users), desc="users", unit="user", disable=not progress)
    for user_batch in chunks(users, USER_BATCH):
        engine.account_writer.put_users(user_batch)
        bar.update(len(user_batch))
    bar.close()
    bar = tqdm(total=len(posts), desc="posts (content vectors)", unit="post", disable=not progress)
    for post_batch in chunks(posts, POST_BATCH):
        engine.post_writer.put(post_batch)
        bar.update(len(post_batch))
    bar.close()
    accepted = dupes = 0
    bar = tqdm(total=n_events, desc="events", unit="ev", disable=not progress, mininterval=1.0)
    for batch in chunks(events, engine.settings.max_event_batch):
        res = engine.event_writer.ingest(batch)
        accepted, dupes = accepted + res.accepted, dupes + res.duplicates
        bar.update(len(batch))
    bar.close()
    return ImportCounts(len(users), len(posts), accepted, dupes)
