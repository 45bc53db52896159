"""The safety filters cannot be bypassed: pipelines are refused without them, they run first on
every source's candidates (including a source added later), and a page never repeats a post."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from reelrank.domain import FeedRequest, Surface, User
from reelrank.pipeline.candidates import Candidates, Retrieved
from reelrank.pipeline.components import Selection
from reelrank.pipeline.context import FeedContext
from reelrank.pipeline.executor import Pipeline, PipelineExecutor
from reelrank.pipeline.safety import REQUIRED_RULES, MissingSafetyFilters, SafetyFilters
from reelrank.simulation.safety_audit import SafetyAudit
from tests.serving.helpers import post, user, world


class Everything:
    """A careless source: proposes every post in the catalogue, whatever the rules say."""

    name = "everything"

    def __init__(self, n: int) -> None:
        self._n = n

    def retrieve(self, ctx: FeedContext) -> Retrieved:
        pids = np.arange(1, self._n + 1, dtype=np.int64)
        return Retrieved(pids, np.ones(len(pids), np.float32))


class Repeats:
    name = "repeats"

    def select(self, ctx: FeedContext, cands: Candidates, order: np.ndarray, k: int) -> Selection:
        return Selection(np.concatenate([order[:1], order[:1], order[1:]]))


def test_a_pipeline_without_the_mandatory_filters_is_refused() -> None:
    with pytest.raises(ValueError, match="mandatory safety filters"):
        Pipeline("p", [], [], [], [])

    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

        def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
            return {}

    with pytest.raises(MissingSafetyFilters, match="region"):
        SafetyFilters([Named(n) for n in REQUIRED_RULES - {"region"}])


def test_every_surface_runs_every_rule_first(client: TestClient) -> None:
    world(client, per_topic=2)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    for surface in Surface:
        pipe = engine.feed_service.pipeline(surface)
        assert pipe.safety is not None and set(pipe.safety.names) >= REQUIRED_RULES
        _, result = engine.feed_service.feed(FeedRequest(user_id="alice", surface=surface))
        filters = [s.name for s in result.trace.stages if s.stage == "filter"]
        assert filters[: len(pipe.safety.names)] == pipe.safety.names


def test_a_source_added_later_cannot_bypass_them(client: TestClient) -> None:
    world(client, per_topic=4)
    user(client, "secret", is_private=True)
    post(client, "private0", "secret", "travel")
    post(client, "gb_only", "c_travel", "travel", allowed_regions=["GB"])
    post(client, "adult", "c_travel", "travel", min_age=18, category="gambling")
    client.delete("/v1/posts/cooking0")
    client.post("/v1/users/alice/blocks/c_football")
    client.patch("/v1/users/alice/interests", json={"mute": ["cooking"]})
    client.post("/v1/events", json={"events": [{"event_id": "ni", "user_id": "alice", "post_id": "travel1",
                                                "kind": "not_interested"}]})
    engine = client.app.state.engine  # type: ignore[attr-defined]
    base = engine.feed_service.pipeline(Surface.EXPLORE)
    rogue = dataclasses.replace(base, sources=[*base.sources, Everything(engine.catalogue.max_pid)],
                                selectors=[*base.selectors, Repeats()])
    ctx = engine.feed_service.context(FeedRequest(user_id="alice", surface=Surface.EXPLORE, page_size=50),
                                      "s1", time.time())
    result = PipelineExecutor(engine._pool).run(rogue, ctx)
    page = [engine.catalogue.post_ids[int(p)] for p in result.cands.pids[result.page]]
    users = {u: engine.accounts.get(u)[1] for u in ("alice", "secret", "c_travel", "c_cooking", "c_football")}
    posts = {p: engine.post_writer.get(p).post for p in engine.catalogue.pid_of}
    audit = SafetyAudit(users, posts, engine.settings.report_threshold, blocks={("alice", "c_football")})
    audit.mark_not_interested("alice", "travel1")
    assert page and audit.violations("alice", "explore", page, time.time()) == []
    assert len(page) == len(set(page))  # the repeating selector was caught too
    # The audit does see what the filters removed: the same check over the whole catalogue fails.
    broken = {rule for _, rule in audit.violations("alice", "explore", list(posts), time.time())}
    assert {"removed", "blocked", "private", "region", "age", "muted_topic", "not_interested"} <= broken


def test_the_audit_is_independent_of_the_engine() -> None:
    from reelrank.domain import Post

    alice = User(user_id="alice", region="US", birth_year=time.gmtime().tm_year - 15)
    p = Post(post_id="p", creator_id="c", min_age=18, allowed_regions=["GB"], sensitive=True, topics=["x"])
    audit = SafetyAudit.of([alice, User(user_id="c", is_private=True)], [p], report_threshold=1)
    audit.report("bob", "p")
    got = {rule for _, rule in audit.violations("alice", "reels", ["p", "p"], time.time())}
    assert got == {"duplicate", "reported_out", "private", "region", "age", "sensitive"}
