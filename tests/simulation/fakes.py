"""A tiny in-memory stand-in for the engine's HTTP API, so agent and loader tests need no engine.

The fake feed serves posts round-robin over topics (every topic equally often, never learning), which
makes the simulated user's reactions the only thing that differs between topics.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reelrank.domain import Post


@dataclass
class FakeResponse:
    status_code: int
    body: Any

    def json(self) -> Any:
        return self.body

    @property
    def text(self) -> str:
        return str(self.body)


@dataclass
class FakeClient:
    """Records every call; `fail` maps a URL prefix to a status code to answer with an error body."""

    posts: Sequence[Post] = ()
    fail: dict[str, int] = field(default_factory=dict)
    empty_after_pages: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    posted: list[tuple[str, Any]] = field(default_factory=list)
    feed_calls: list[dict[str, Any]] = field(default_factory=list)
    _seen_ids: set[str] = field(default_factory=set)
    _requests: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        by_topic: dict[str, list[Post]] = {}
        for p in self.posts:
            by_topic.setdefault(p.topics[0], []).append(p)
        # Interleave topics: t0[0], t1[0], ..., t0[1], t1[1], ... so every page mixes them evenly.
        self._order = [p for group in itertools.zip_longest(*by_topic.values()) for p in group if p is not None]
        self._offset: dict[str, int] = {}

    def _error(self, url: str) -> FakeResponse | None:
        for prefix, status in self.fail.items():
            if url.startswith(prefix):
                return FakeResponse(status, {"error": "validation_error", "message": f"bad request to {url}"})
        return None

    def get(self, url: str, params: dict[str, Any] | None = None) -> FakeResponse:
        if (err := self._error(url)) is not None:
            return err
        assert url == "/v1/feed"
        params = dict(params or {})
        self.feed_calls.append(params)
        user = params["user_id"]
        n = int(params.get("page_size", 10))
        page_no = sum(c["user_id"] == user for c in self.feed_calls) - 1
        if self.empty_after_pages is not None and page_no >= self.empty_after_pages:
            return FakeResponse(200, {"request_id": "r-empty", "items": [], "next_cursor": ""})
        start = self._offset.get(user, 0)
        picked = [self._order[(start + i) % len(self._order)] for i in range(n)]
        self._offset[user] = start + n
        items = [
            {
                "post_id": p.post_id,
                "creator_id": p.creator_id,
                "topics": list(p.topics),
                "position": start + i,
                "score": 1.0 / (1 + i),
                "sources": ["fake"],
            }
            for i, p in enumerate(picked)
        ]
        return FakeResponse(
            200, {"request_id": f"r{next(self._requests)}", "items": items, "next_cursor": f"c{start + n}"}
        )

    def post(self, url: str, json: Any = None) -> FakeResponse:
        if (err := self._error(url)) is not None:
            return err
        self.posted.append((url, json))
        if url == "/v1/events":
            batch = json["events"]
            self.batches.append(batch)
            dups = sum(e["event_id"] in self._seen_ids for e in batch)
            self._seen_ids.update(e["event_id"] for e in batch)
            self.events.extend(batch)
            return FakeResponse(200, {"accepted": len(batch) - dups, "duplicates": dups})
        if url.endswith("/batch"):
            key = "users" if "users" in url else "posts"
            return FakeResponse(200, {"count": len(json[key]), "ids": []})
        return FakeResponse(201, {"ok": True})
