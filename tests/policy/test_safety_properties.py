"""No page, for any user on any surface, breaks a safety or visibility rule: random small worlds."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings

from reelrank.domain import FeedRequest, Surface
from reelrank.engine import Engine
from tests.policy.worlds import SmallWorld, loaded, small_worlds

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(small_worlds())
def test_no_page_breaks_a_rule(world: SmallWorld) -> None:
    with loaded(world) as (engine, audit):
        for user in world.users:
            for surface in Surface:
                cursor = None
                served: list[str] = []
                for _ in range(2):  # two pages of one session: the second must not repeat the first
                    page, _ = engine.feed_service.feed(FeedRequest(user_id=user.user_id, surface=surface,
                                                                   page_size=12, cursor=cursor))
                    ids = [i["post_id"] for i in page.items]
                    served += ids
                    cursor = page.next_cursor
                    assert audit.violations(user.user_id, surface.value, ids, time.time()) == [], (user, ids)
                assert len(served) == len(set(served))


@settings(PROPERTY, max_examples=8)
@given(small_worlds(max_users=4, max_posts=25))
def test_rules_hold_after_a_restart(world: SmallWorld) -> None:
    """Reports, 'not interested' and muted topics are durable: a restarted engine keeps them."""
    with loaded(world, close=False) as (engine, audit):
        engine.close()
        again = Engine(engine.settings)
        try:
            for user in world.users:
                page, _ = again.feed_service.feed(FeedRequest(user_id=user.user_id, surface=Surface.EXPLORE,
                                                              page_size=40))
                ids = [i["post_id"] for i in page.items]
                assert audit.violations(user.user_id, "explore", ids, time.time()) == []
        finally:
            again.close()
