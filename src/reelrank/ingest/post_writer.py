"""Writes posts: vectorise, store durably, then make them retrievable (catalogue + ANN index).

Order matters: the record store is written first, so a crash never leaves an indexed post that
was not stored; the index and catalogue are rebuilt from the store on start-up anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from reelrank.domain import Post, PostPatch, PostStatus
from reelrank.ingest.errors import BatchRejected, ItemError, UnknownEntity
from reelrank.state.accounts import AccountDirectory
from reelrank.state.catalogue import Catalogue
from reelrank.state.records.base import PostRecord, PostRow, RecordStore

TEXT_FIELDS = ("caption", "hashtags", "topics", "media_vector")


class Vectorizer(Protocol):
    def vectorize(self, posts: Sequence[Post]) -> np.ndarray: ...


class PostIndex(Protocol):
    def add(self, pids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, pids: np.ndarray) -> int: ...


def post_row(pid: int, creator_uid: int, post: Post, vector: np.ndarray | None) -> PostRow:
    return PostRow(pid=pid, post_id=post.post_id, creator_uid=creator_uid, kind=post.kind.value,
                   topics=list(post.topics), category=post.category, sensitive=post.sensitive,
                   min_age=post.min_age, created_at=post.created_at, allowed_regions=post.allowed_regions,
                   blocked_regions=list(post.blocked_regions), status=post.status, vector=vector)


class PostWriter:
    def __init__(self, records: RecordStore, catalogue: Catalogue, accounts: AccountDirectory,
                 vectorizer: Vectorizer, index: PostIndex) -> None:
        self._records = records
        self._cat = catalogue
        self._accounts = accounts
        self._vectorizer = vectorizer
        self._index = index
        self._write_lock = threading.Lock()

    def put(self, posts: Sequence[Post], vectors: np.ndarray | None = None) -> list[int]:
        """Create or replace posts, all or nothing. `vectors` (N, D) skips encoding when the caller
        already has content vectors (bulk loads, benchmarks)."""
        if not posts:
            return []
        errors: list[ItemError] = []
        seen: set[str] = set()
        for i, p in enumerate(posts):
            if p.creator_id not in self._accounts.uid_of:
                errors.append(ItemError(i, "creator_id", f"account '{p.creator_id}' does not exist"))
            if p.post_id in seen:
                errors.append(ItemError(i, "post_id", f"'{p.post_id}' appears twice in the batch"))
            seen.add(p.post_id)
        if errors:
            raise BatchRejected("posts", errors)
        if vectors is None:
            vectors = self._vectorizer.vectorize(posts)  # (N, D); the slow part, outside the lock
        with self._write_lock:
            pids = self._records.upsert_posts(posts, vectors)
            rows = [post_row(pid, self._accounts.uid_of[p.creator_id], p, None)
                    for pid, p in zip(pids, posts, strict=True)]
            self._cat.upsert(rows)
            pid_arr = np.asarray(pids, dtype=np.int64)
            live = np.fromiter((p.status is PostStatus.ACTIVE for p in posts), dtype=bool, count=len(posts))
            if live.any():
                self._index.add(pid_arr[live], vectors[live])
            if (~live).any():
                self._index.remove(pid_arr[~live])
        return pids

    def get(self, post_id: str) -> PostRecord:
        rec = self._records.get_post(post_id)
        if rec is None:
            raise UnknownEntity("post", post_id)
        return rec

    def patch(self, post_id: str, patch: PostPatch) -> PostRecord:
        rec = self.get(post_id)
        changes = patch.model_dump(exclude_unset=True)
        updated = rec.post.model_copy(update=changes)
        updated = Post.model_validate(updated.model_dump())  # re-run validators on the merged post
        needs_vector = any(f in changes for f in TEXT_FIELDS) or rec.vector is None
        vectors = None if needs_vector or rec.vector is None else rec.vector[None, :]
        self.put([updated], vectors)
        return self.get(post_id)

    def remove(self, post_id: str) -> int:
        with self._write_lock:
            pid = self._records.set_post_status(post_id, PostStatus.REMOVED) if post_id in self._cat.pid_of \
                else None
            if pid is None:
                raise UnknownEntity("post", post_id)
            self._cat.set_active(pid, False)
            self._index.remove(np.asarray([pid], dtype=np.int64))
        return pid
