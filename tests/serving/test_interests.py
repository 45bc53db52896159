"""'Your Algorithm': GET/PATCH /v1/users/{id}/interests, and the very next page reflecting it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reelrank.config import Settings
from tests.policy.conftest import patient_settings
from tests.serving.helpers import event, feed, post, user, world


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """These tests judge what the next page shows, not latency: no source misses its deadline."""
    return patient_settings(tmp_path / "data")

EXPLORE = {"surface": "explore"}


def interests(client: TestClient, user_id: str) -> dict[str, Any]:
    r = client.get(f"/v1/users/{user_id}/interests")
    assert r.status_code == 200, r.text
    return r.json()


def patch(client: TestClient, user_id: str, **body: list[str]) -> dict[str, Any]:
    r = client.patch(f"/v1/users/{user_id}/interests", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def topics(page: dict[str, Any]) -> Counter:
    return Counter(i["topics"][0] for i in page["items"])


def by_topic(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["topic"]: t for t in view["topics"]}


def check_contract(view: dict[str, Any], user_id: str) -> None:
    """The exact JSON shape the web app is built against."""
    assert set(view) == {"user_id", "summary", "topics", "muted"}
    assert view["user_id"] == user_id and isinstance(view["summary"], str) and view["summary"]
    assert isinstance(view["muted"], list) and all(isinstance(t, str) for t in view["muted"])
    for t in view["topics"]:
        assert set(t) == {"topic", "strength", "origin", "state", "evidence"}
        assert isinstance(t["topic"], str) and 0.0 <= t["strength"] <= 1.0
        assert t["origin"] in {"inferred", "onboarding", "added"} and t["state"] in {"normal", "boosted", "muted"}
        for e in t["evidence"]:
            assert set(e) == {"post_id", "kind", "ts"} and isinstance(e["ts"], float)


def cooking_fan(client: TestClient) -> None:
    world(client, per_topic=15, creators_per_topic=5)
    events = [event("alice", f"cooking{i}", "view", watch_ms=15000, duration_ms=15000) for i in range(3)]
    events += [event("alice", f"cooking{i}", "like") for i in range(3)]
    events += [event("alice", "travel0", "share")]
    assert client.post("/v1/events", json={"events": events}).status_code == 200


def test_new_user_gets_a_plain_answer(client: TestClient) -> None:
    world(client, per_topic=2)
    user(client, "newbie", interests=["travel"])
    view = interests(client, "newbie")
    check_contract(view, "newbie")
    [travel] = view["topics"]
    assert (travel["topic"], travel["origin"], travel["state"]) == ("travel", "onboarding", "normal")
    assert [(e["post_id"], e["kind"]) for e in travel["evidence"]] == [("", "onboarding")]  # picked at sign-up
    assert "travel" in view["summary"]
    assert client.get("/v1/users/nobody/interests").status_code == 404


def test_inferred_topics_come_with_strength_and_evidence(client: TestClient) -> None:
    cooking_fan(client)
    view = interests(client, "alice")
    check_contract(view, "alice")
    t = by_topic(view)
    assert view["topics"][0]["topic"] == "cooking" and t["cooking"]["origin"] == "inferred"
    assert t["cooking"]["strength"] > t["travel"]["strength"] > 0
    ev = t["cooking"]["evidence"]
    assert {e["post_id"] for e in ev} <= {"cooking0", "cooking1", "cooking2"}
    assert {e["kind"] for e in ev} <= {"view", "like"}
    assert [e["ts"] for e in ev] == sorted((e["ts"] for e in ev), reverse=True)  # newest first
    assert {k: t["travel"]["evidence"][0][k] for k in ("post_id", "kind")} == {"post_id": "travel0", "kind": "share"}
    assert "cooking" in view["summary"]


def test_mute_hides_a_topic_from_the_very_next_page_and_unmute_restores_it(client: TestClient) -> None:
    cooking_fan(client)
    view = patch(client, "alice", mute=["cooking"])
    check_contract(view, "alice")
    assert view["muted"] == ["cooking"] and by_topic(view)["cooking"]["state"] == "muted"
    for _ in range(3):  # every page of the session, both surfaces
        assert topics(feed(client, "alice", page_size=20))["cooking"] == 0
        assert topics(feed(client, "alice", page_size=20, **EXPLORE))["cooking"] == 0
    view = patch(client, "alice", unmute=["cooking"])
    assert view["muted"] == [] and by_topic(view)["cooking"]["state"] == "normal"
    assert topics(feed(client, "alice", page_size=10))["cooking"] > 0


def test_boost_raises_a_topic_and_remove_stops_it(client: TestClient) -> None:
    cooking_fan(client)
    before = feed(client, "alice", page_size=10, explain=True)
    first_travel = min(i["position"] for i in before["items"] if i["topics"][0] == "travel")
    view = patch(client, "alice", boost=["travel"])
    assert by_topic(view)["travel"]["state"] == "boosted"
    after = feed(client, "alice", page_size=10, explain=True)
    travel = [i for i in after["items"] if i["topics"][0] == "travel"]
    assert travel and min(i["position"] for i in travel) <= first_travel
    assert topics(after)["travel"] >= topics(before)["travel"]
    exp = travel[0]["explanation"]
    assert exp["controls"]["topic_boost"] == 1.0 and "You asked to see more travel" in exp["sentence"]
    view = patch(client, "alice", remove=["travel"])
    assert "travel" not in by_topic(view)  # no longer boosted, added or counted as learned
    page = feed(client, "alice", page_size=10, explain=True)
    assert all(i["explanation"]["controls"].get("topic_boost", 0.0) == 0.0 for i in page["items"])


def test_added_topic_appears_on_the_next_page(client: TestClient) -> None:
    cooking_fan(client)
    user(client, "c_music")
    for i in range(6):
        post(client, f"music{i}", "c_music", "travel", topics=["music"], caption="guitar concert song band live")
    view = patch(client, "alice", add=["music"])
    assert by_topic(view)["music"]["origin"] == "added" and by_topic(view)["music"]["strength"] >= 0.5
    page = feed(client, "alice", page_size=10, explain=True)
    music = [i for i in page["items"] if i["topics"][0] == "music"]
    assert music and "You added music to your interests" in music[0]["explanation"]["sentence"]


def test_not_interested_never_returns_and_pushes_its_topic_down(client: TestClient) -> None:
    cooking_fan(client)
    target = next(i["post_id"] for i in feed(client, "alice", page_size=10)["items"] if i["topics"][0] == "travel")
    ev = [event("alice", target, "not_interested"), event("alice", "travel1", "not_interested")]
    assert client.post("/v1/events", json={"events": ev}).status_code == 200
    engine = client.app.state.engine  # type: ignore[attr-defined]
    uid = engine.accounts.uid_of["alice"]
    engine.online.delete(f"u:{uid}:seen")  # even once the seen window has passed
    shown = [i for _ in range(3) for i in feed(client, "alice", page_size=12, **EXPLORE)["items"]]
    assert target not in {i["post_id"] for i in shown}
    travel = [i for i in feed(client, "alice", page_size=10, explain=True)["items"] if i["topics"][0] == "travel"]
    assert all(i["explanation"]["controls"]["topic_affinity"] < 0 for i in travel)
    assert "less interest in travel" in interests(client, "alice")["summary"]


def test_see_less_pushes_a_topic_down_durably(client: TestClient) -> None:
    cooking_fan(client)
    patch(client, "alice", less=["cooking"])
    assert "cooking" not in by_topic(interests(client, "alice"))
    page = feed(client, "alice", page_size=10, explain=True)
    cooking = [i for i in page["items"] if i["topics"][0] == "cooking"]
    assert all(i["explanation"]["controls"]["topic_affinity"] < 0 for i in cooking)
    assert all(i["position"] >= 5 for i in cooking), [i["position"] for i in cooking]
    # Stored with the account: a platform's profile write does not wipe it.
    r = client.patch("/v1/users/alice", json={"settings": {"show_sensitive": True}})
    assert r.status_code == 200 and "cooking" in r.json()["controls"]["offsets"]
    user(client, "alice", region="US")  # a full replace that does not mention controls keeps them too
    assert "cooking" in client.get("/v1/users/alice").json()["controls"]["offsets"]


def test_contradictory_patch_is_rejected(client: TestClient) -> None:
    world(client, per_topic=1)
    r = client.patch("/v1/users/alice/interests", json={"mute": ["travel"], "unmute": ["travel"]})
    assert r.status_code == 422 and "mute and unmute" in r.json()["message"]
    assert client.patch("/v1/users/alice/interests", json={"shout": ["x"]}).status_code == 422
    assert client.patch("/v1/users/nobody/interests", json={}).status_code == 404
    assert patch(client, "alice", add=["travel"], boost=["travel"])["topics"][0]["state"] == "boosted"
