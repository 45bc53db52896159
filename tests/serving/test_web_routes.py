"""The web app's endpoints and static files (no browser; tests/browser drives the real UI)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from reelrank.engine import Engine
from reelrank.serving.routes_inspect import percentile
from reelrank.serving.routes_web import WEB_DIR
from tests.serving.helpers import event, feed, world


def test_static_app_is_packaged_and_served(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/app/"
    page = client.get("/app/")
    assert page.status_code == 200 and "<main" in page.text and "js/app.js" in page.text
    assert client.get("/app/inspector.html").status_code == 200
    js = client.get("/app/js/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]


def test_web_files_import_only_local_modules_and_nothing_from_the_network() -> None:
    files = sorted(p for p in WEB_DIR.rglob("*") if p.is_file())
    assert {"index.html", "inspector.html"} <= {p.name for p in files}
    for p in files:
        text = p.read_text()
        urls = re.findall(r"https?://[^\s\"'<>)]+", text)
        assert all(u.startswith("http://www.w3.org/") for u in urls), (p.name, urls)  # SVG namespace only
        if p.suffix == ".js":
            for spec in re.findall(r"^import .* from \"(.+?)\";$", text, flags=re.M):
                assert spec.startswith("./") and (p.parent / spec).is_file(), (p.name, spec)


def test_posts_batch_returns_captions_in_one_call(client: TestClient) -> None:
    world(client, per_topic=3)
    r = client.get("/v1/posts", params={"ids": "cooking0,travel1,nope"})
    assert r.status_code == 200
    body = r.json()
    assert [p["post_id"] for p in body["posts"]] == ["cooking0", "travel1"]
    assert body["posts"][0]["caption"].startswith("garlic butter") and body["posts"][0]["topics"] == ["cooking"]
    assert body["missing"] == ["nope"]


def test_users_and_topics_lists(client: TestClient) -> None:
    world(client, per_topic=3)
    users = client.get("/v1/users").json()["users"]
    assert {u["user_id"] for u in users} == {"alice", "bob"}  # viewers only: creators have posts
    with_creators = client.get("/v1/users", params={"creators": True, "limit": 100}).json()["users"]
    assert {"c_cooking", "alice"} <= {u["user_id"] for u in with_creators}
    topics = client.get("/v1/topics").json()["topics"]
    assert {t["topic"]: t["posts"] for t in topics} == {"cooking": 3, "football": 3, "travel": 3}


def test_inspect_runs_every_stage_read_only(client: TestClient, engine: Engine) -> None:
    world(client, per_topic=12, creators_per_topic=3)
    client.post("/v1/events", json={"events": [event("alice", f"cooking{i}", "like") for i in range(3)]})
    requests_before = engine.metrics.feed_requests.labels("reels")._value.get()
    r = client.get("/v1/inspect", params={"user_id": "alice", "top": 5})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["read_only"] and len(d["page"]) == 10
    ann = next(s for s in d["sources"] if s["name"] == "ann")
    assert 0 < len(ann["top"]) <= 5 and {"post_id", "topics", "score"} <= set(ann["top"][0])
    assert ann["top"][0]["score"] >= ann["top"][-1]["score"]
    seen = next(f for f in d["filters"] if f["name"] == "seen")
    assert seen["removed"] and set(seen["removed"][0]["post_ids"]) <= {f"cooking{i}" for i in range(3)}
    assert "similarity" in d["scoring"]["columns"] and len(d["scoring"]["top"]) == 5
    assert {s["stage"] for s in d["stages"]} >= {"context", "source", "merge", "filter", "score", "select"}
    assert all("explanation" in item for item in d["page"])
    # Read-only: nothing counted as served, so the next real page can still show the inspected posts.
    assert engine.metrics.feed_requests.labels("reels")._value.get() == requests_before
    assert len(engine.seen.served("inspect:alice")) == 0
    assert client.get("/v1/inspect", params={"user_id": "ghost"}).status_code == 404


def test_explain_traces_stay_lean_without_the_inspector(client: TestClient) -> None:
    world(client, per_topic=4)
    page = feed(client, "alice", explain=True)
    assert all("top" not in s.get("detail", {}) for s in page["trace"]["stages"] if s["stage"] == "source")


def test_stats_summarise_the_metrics(client: TestClient) -> None:
    world(client, per_topic=4)
    client.post("/v1/events", json={"events": [event("alice", "cooking0", "like")]})
    for _ in range(3):
        feed(client, "alice")
    s = client.get("/v1/stats").json()
    assert s["events"]["accepted"] == 1
    assert s["feed"]["requests"] == {"reels": 3}
    lat = s["feed"]["latency_ms"]["all"]
    assert lat["count"] == 3 and lat["p50"] is not None and lat["p50"] <= lat["p99"]
    assert len(lat["buckets"]) == len(s["feed"]["bucket_bounds_ms"]) + 1
    assert any(st["stage"] == "source" and st["count"] == 3 for st in s["stages"])


def test_percentile_interpolates_inside_buckets() -> None:
    bounds = [(1.0, 0.0), (2.0, 50.0), (4.0, 100.0), (float("inf"), 100.0)]
    assert percentile(bounds, 100, 0.5) == 2.0
    assert percentile(bounds, 100, 0.75) == 3.0
    assert percentile([(1.0, 0.0), (float("inf"), 10.0)], 10, 0.99) == 1.0  # beyond the last bucket
    assert percentile(bounds, 0, 0.5) is None
