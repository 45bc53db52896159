"""Accounts and the social graph, held in memory for the hot path (rebuilt from the record store)."""

from __future__ import annotations

import threading
from collections import defaultdict

import numpy as np

from reelrank.domain import EdgeKind, User


class AccountDirectory:
    """uid <-> user id, each account's profile, and a per-uid 'private' column for vectorised filters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.uid_of: dict[str, int] = {}
        self.profiles: dict[int, User] = {}
        self.private = np.zeros(1024, dtype=bool)

    def upsert(self, uid: int, user: User) -> None:
        with self._lock:
            if uid >= len(self.private):
                grown = np.zeros(max(uid + 1, len(self.private) * 2), dtype=bool)
                grown[: len(self.private)] = self.private
                self.private = grown
            self.private[uid] = user.is_private
            self.uid_of[user.user_id] = uid
            self.profiles[uid] = user

    def get(self, user_id: str) -> tuple[int, User] | None:
        uid = self.uid_of.get(user_id)
        if uid is None:
            return None
        return uid, self.profiles[uid]

    def user_id(self, uid: int) -> str:
        return self.profiles[uid].user_id

    def __len__(self) -> int:
        return len(self.uid_of)


class SocialGraph:
    """Follows, blocks and mutes as adjacency sets keyed by uid.

    Blocks are kept in both directions (`blocked_by`) because a block hides each side from the
    other; mutes are one-way.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._out: dict[EdgeKind, defaultdict[int, set[int]]] = {k: defaultdict(set) for k in EdgeKind}
        self._blocked_by: defaultdict[int, set[int]] = defaultdict(set)
        self._followers: defaultdict[int, set[int]] = defaultdict(set)

    def add(self, src: int, dst: int, kind: EdgeKind) -> None:
        with self._lock:
            self._out[kind][src].add(dst)
            if kind is EdgeKind.BLOCK:
                self._blocked_by[dst].add(src)
            elif kind is EdgeKind.FOLLOW:
                self._followers[dst].add(src)

    def remove(self, src: int, dst: int, kind: EdgeKind) -> None:
        with self._lock:
            self._out[kind][src].discard(dst)
            if kind is EdgeKind.BLOCK:
                self._blocked_by[dst].discard(src)
            elif kind is EdgeKind.FOLLOW:
                self._followers[dst].discard(src)

    def following(self, uid: int) -> set[int]:
        return self._out[EdgeKind.FOLLOW].get(uid, set())

    def follower_count(self, uid: int) -> int:
        return len(self._followers.get(uid, ()))

    def hidden_creators(self, uid: int) -> set[int]:
        """Accounts whose posts this viewer must never see: blocked either way, or muted."""
        return (self._out[EdgeKind.BLOCK].get(uid, set()) | self._blocked_by.get(uid, set())
                | self._out[EdgeKind.MUTE].get(uid, set()))

    def has(self, src: int, dst: int, kind: EdgeKind) -> bool:
        return dst in self._out[kind].get(src, ())
