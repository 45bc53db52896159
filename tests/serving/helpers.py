"""Tiny builders for API payloads used across the serving tests."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient

_ids = itertools.count()

CAPTIONS = {
    "cooking": "garlic butter pasta recipe dinner kitchen #cooking #pasta",
    "football": "last minute goal stadium match highlights #football #goal",
    "travel": "sunset beach island trip flight hotel #travel #beach",
}


def user(client: TestClient, user_id: str, **fields: Any) -> None:
    r = client.post("/v1/users", json={"user_id": user_id, **fields})
    assert r.status_code == 201, r.text


def post(client: TestClient, post_id: str, creator: str, topic: str = "cooking", **fields: Any) -> None:
    body = {"post_id": post_id, "creator_id": creator, "caption": CAPTIONS[topic], "topics": [topic],
            "duration_ms": 15000, **fields}
    r = client.post("/v1/posts", json=body)
    assert r.status_code == 201, r.text


def event(user_id: str, post_id: str, kind: str = "like", **fields: Any) -> dict[str, Any]:
    return {"event_id": f"e{next(_ids)}", "user_id": user_id, "post_id": post_id, "kind": kind, **fields}


def feed(client: TestClient, user_id: str, **params: Any) -> dict[str, Any]:
    r = client.get("/v1/feed", params={"user_id": user_id, **params})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def world(client: TestClient, per_topic: int = 12, creators_per_topic: int = 1) -> None:
    """Per topic: creators c_<topic> (then c_<topic>_1, ...) sharing `per_topic` posts; two viewers."""
    for topic in CAPTIONS:
        names = [f"c_{topic}"] + [f"c_{topic}_{j}" for j in range(1, creators_per_topic)]
        for name in names:
            user(client, name)
        for i in range(per_topic):
            post(client, f"{topic}{i}", names[i % len(names)], topic)
    user(client, "alice", region="US")
    user(client, "bob", region="GB")
