"""Through the API: people who liked X also liked Y, so a viewer who likes X is offered Y, marked and
explained as coming from the co-engagement source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reelrank.config import RealtimeSettings, ScoreWeights, SourceSettings
from reelrank.engine import Engine
from reelrank.serving.app import create_app
from reelrank.serving.explain import SOURCE_PHRASES, explain_item
from tests.conftest import make_settings
from tests.serving.helpers import event, feed, user, world


def _client(tmp_path: Path, **overrides: object) -> Iterator[TestClient]:
    engine = Engine(make_settings(tmp_path / "data", realtime=RealtimeSettings(drain="sync"), **overrides))
    with TestClient(create_app(engine, own_engine=True)) as c:
        yield c


@pytest.fixture
def sync_client(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path)


def _co_engage(c: TestClient) -> None:
    world(c)
    for name in ("a", "b", "c"):
        user(c, name)
    # A and B both like a cooking post and a football post; C likes only the cooking post.
    evs = [event(u, p) for u in ("a", "b") for p in ("cooking3", "football5")] + [event("c", "cooking3")]
    assert c.post("/v1/events", json={"events": evs}).status_code == 200


def test_viewer_gets_what_co_engagers_liked_with_explanation(sync_client: TestClient) -> None:
    c = sync_client
    _co_engage(c)
    page = feed(c, "c", page_size=30, explain="true")
    hit = [i for i in page["items"] if i["post_id"] == "football5"]
    assert hit and "co_engagement" in hit[0]["sources"]
    assert "co_engagement" in hit[0]["explanation"]["sources"]
    # A viewer with no positive engagement has no seeds: nothing from the source.
    user(c, "d")
    assert all("co_engagement" not in i["sources"] for i in feed(c, "d", page_size=30)["items"])


def test_k_zero_leaves_the_source_out(tmp_path: Path) -> None:
    for c in _client(tmp_path, sources=SourceSettings(co_engagement_k=0)):
        _co_engage(c)
        assert all("co_engagement" not in i["sources"] for i in feed(c, "c", page_size=30)["items"])


def test_why_panel_names_the_source() -> None:
    out = explain_item(["co_engagement"], {}, ScoreWeights(), [])
    assert out["sources"] == ["co_engagement"]
    assert SOURCE_PHRASES["co_engagement"] in out["sentence"]
