"""Writes accounts, the social graph and reports: durable first, then the in-memory views."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from reelrank.domain import Edge, EdgeKind, PostStatus, Report, TopicControls, User, UserPatch
from reelrank.features.user_controls import with_hidden_posts
from reelrank.ingest.errors import BatchRejected, ItemError, UnknownEntity
from reelrank.state.accounts import AccountDirectory, SocialGraph
from reelrank.state.catalogue import Catalogue
from reelrank.state.records.base import RecordStore


class AccountWriter:
    def __init__(self, records: RecordStore, accounts: AccountDirectory, graph: SocialGraph,
                 catalogue: Catalogue, report_threshold: int) -> None:
        self._records = records
        self._accounts = accounts
        self._graph = graph
        self._cat = catalogue
        self._report_threshold = report_threshold
        self._lock = threading.Lock()
        self._rmw_lock = threading.RLock()  # read-modify-write of one account (patches, user controls)

    def put_users(self, users: Sequence[User], *, keep_controls: bool = True) -> list[int]:
        """Create or replace accounts. `keep_controls`: a user sent without controls (or with empty
        ones) keeps the stored 'Your Algorithm' choices; update_user writes them as given."""
        ids = [u.user_id for u in users]
        if len(set(ids)) != len(ids):
            dup = next(i for i, u in enumerate(ids) if ids.index(u) != i)
            raise BatchRejected("users", [ItemError(dup, "user_id", f"'{ids[dup]}' appears twice in the batch")])
        if keep_controls:
            users = [self._keep_controls(u) for u in users]
        with self._lock:
            uids = self._records.upsert_users(users)
            for uid, u in zip(uids, users, strict=True):
                self._accounts.upsert(uid, u)
        return uids

    def _keep_controls(self, user: User) -> User:
        """A platform's write that does not set `controls` (or sends them empty, e.g. a default dump)
        keeps the person's own choices; PATCH /v1/users/{id}/interests is how they change."""
        if "controls" in user.model_fields_set and user.controls != TopicControls():
            return user
        got = self._accounts.get(user.user_id)
        if got is None or got[1].controls == user.controls:
            return user
        return user.model_copy(update={"controls": got[1].controls})

    def update_user(self, user_id: str, change: Callable[[User], User]) -> User:
        """Apply `change` to the stored user atomically with respect to other updates of it."""
        with self._rmw_lock:
            _, user = self.get_user(user_id)
            updated = change(user)
            if updated is not user:
                self.put_users([updated], keep_controls=False)
            return updated

    def hide_posts(self, user_id: str, post_ids: Sequence[str]) -> None:
        """Never serve these posts to this person again (not interested, hidden, reported)."""
        self.update_user(user_id, lambda u: with_hidden_posts(u, post_ids))

    def get_user(self, user_id: str) -> tuple[int, User]:
        got = self._accounts.get(user_id)
        if got is None:
            raise UnknownEntity("user", user_id)
        return got

    def patch_user(self, user_id: str, patch: UserPatch) -> User:
        changes = patch.model_dump(exclude_unset=True)
        return self.update_user(user_id, lambda user: User.model_validate({**user.model_dump(), **changes}))

    def _uids(self, src: str, dst: str) -> tuple[int, int]:
        a = self._accounts.uid_of.get(src)
        if a is None:
            raise UnknownEntity("user", src)
        b = self._accounts.uid_of.get(dst)
        if b is None:
            raise UnknownEntity("user", dst)
        return a, b

    def put_edge(self, edge: Edge) -> None:
        a, b = self._uids(edge.src, edge.dst)
        with self._lock:
            self._records.put_edge(edge)
            self._graph.add(a, b, edge.kind)

    def delete_edge(self, src: str, dst: str, kind: EdgeKind) -> bool:
        a, b = self._uids(src, dst)
        with self._lock:
            existed = self._records.delete_edge(src, dst, kind)
            self._graph.remove(a, b, kind)
        return existed

    def report(self, report: Report) -> tuple[int, int, bool]:
        """Store a report; return (reporter uid, pid, whether the post is now hidden from everyone).

        A post reported by `report_threshold` distinct accounts stops being served to anyone; the
        reporter stops seeing it at once (the caller marks it seen for them)."""
        if report.reporter_id not in self._accounts.uid_of:
            raise UnknownEntity("user", report.reporter_id)
        pid = self._cat.pid_of.get(report.post_id)
        if pid is None:
            raise UnknownEntity("post", report.post_id)
        with self._lock:
            count = self._records.add_report(report)
            over = count >= self._report_threshold
            if over:  # durable: a restart or a later edit of the post does not bring it back
                self._records.set_post_status(report.post_id, PostStatus.REMOVED)
                self._cat.set_active(pid, False)
        self.hide_posts(report.reporter_id, [report.post_id])  # never shown to the reporter again
        return self._accounts.uid_of[report.reporter_id], pid, over
