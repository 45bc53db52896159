"""'Why am I seeing this?': every selector's moves, the slots and the user's controls are explained."""

from __future__ import annotations

from fastapi.testclient import TestClient

from reelrank.config import ScoreWeights
from reelrank.pipeline.components import Move
from reelrank.serving.explain import explain_item
from tests.serving.helpers import event, feed, world


def test_slots_policy_moves_and_controls_in_the_sentence() -> None:
    moves = [Move(1, "picked", "exploration_slot", None, 7), Move(1, "moved", "topic_quota_relaxed", 12, 9),
             Move(1, "moved", "creator_spacing", 9, 8)]
    exp = explain_item(["exploration"], {"similarity": 0.1}, ScoreWeights(), moves,
                       controls={"topic_boost": 1.0, "topic_added": 0.0, "topic_affinity": -0.4}, topics=["music"])
    s = exp["sentence"]
    assert s.startswith("Suggested because it is something new for you")
    assert "exploration slot" in s and "a limit on posts per topic" in s and "spacing between posts" in s
    assert "You asked to see more music" in s and "less interest in music" in s
    assert exp["slots"] == ["exploration_slot"] and len(exp["policy"]) == 3
    for reason, words in (("trend_slot", "trending"), ("fresh_slot", "new posts")):
        assert words in explain_item([], {}, ScoreWeights(), [Move(1, "picked", reason, 0, 0)])["sentence"]


def test_a_feed_with_explain_names_the_slots_it_filled(client: TestClient) -> None:
    world(client, per_topic=12, creators_per_topic=4)
    likes = [event("alice", f"cooking{i}", "like") for i in range(4)]
    assert client.post("/v1/events", json={"events": likes}).status_code == 200
    page = feed(client, "alice", page_size=10, explain=True)
    slots = {s for i in page["items"] for s in i["explanation"]["slots"]}
    assert {"fresh_slot", "exploration_slot"} <= slots  # every post in this world is new; travel is unexplored
    item = next(i for i in page["items"] if "exploration_slot" in i["explanation"]["slots"])
    assert item["topics"][0] != "cooking" and "exploration slot" in item["explanation"]["sentence"]
    reasons = {m["reason"] for i in page["items"] for m in i["explanation"]["policy"]}
    assert reasons & {"diversity", "topic_quota", "topic_quota_relaxed", "creator_spacing"}
    selectors = [s["name"] for s in page["trace"]["stages"] if s["stage"] == "select"]
    assert selectors[:1] == ["mmr"] and selectors[-2:] == ["topic_quota", "creator_spacing"]
    assert {"trend_slots", "fresh_slots", "exploration_slots"} <= set(selectors)
