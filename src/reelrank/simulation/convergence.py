"""Cold start, measured: after how many interactions does a newcomer's feed fit their hidden taste as
well as an established user's?

Relevance of a page = mean hidden weight of each item's primary topic, divided by the person's
strongest weight (1.0: every item on their favourite topic; the topic quota caps what any page can
reach, for newcomers and established users alike). A newcomer is a fresh account (no onboarding
interests, no history) given the hidden taste of one of the world's viewers; it scrolls page after
page through the API while its relevance curve is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from reelrank.simulation.agent import ItemOutcome, SimulatedUser
from reelrank.simulation.api import Client, expect_ok
from reelrank.simulation.world import World


def page_relevance(interests: Mapping[str, float], topics: Sequence[str | None]) -> float:
    top = max(interests.values()) if interests else 0.0
    if not topics or top <= 0:
        return 0.0
    return float(np.mean([interests.get(t or "", 0.0) for t in topics]) / top)


def per_page(items: Sequence[ItemOutcome]) -> list[list[ItemOutcome]]:
    pages: dict[int, list[ItemOutcome]] = {}
    for it in items:
        pages.setdefault(it.page, []).append(it)
    return [pages[p] for p in sorted(pages)]


@dataclass(frozen=True, slots=True)
class Curve:
    interactions: list[int]  # items seen before each page was served
    relevance: list[float]  # that page's relevance

    def first_reaching(self, target: float, window: int = 2) -> int | None:
        """Interactions before the first page from which the rolling mean of `window` pages >= target."""
        r = self.relevance
        for i in range(len(r) - window + 1):
            if np.mean(r[i : i + window]) >= target:
                return self.interactions[i]
        return None


def established_relevance(client: Client, world: World, user_ids: Sequence[str], *, warm_sessions: int = 3,
                          pages: int = 5, page_size: int = 10, seed: int = 0,
                          clock: Callable[[], float] | None = None) -> float:
    """Mean page relevance for viewers after `warm_sessions` sessions of history (their next session)."""
    scores: list[float] = []
    for i, uid in enumerate(user_ids):
        kw = {"clock": clock} if clock is not None else {}
        agent = SimulatedUser.from_world(client, world, uid, seed=seed * 1009 + i, **kw)
        for _ in range(warm_sessions):
            agent.run_session(pages, page_size=page_size)
            agent.advance(3600.0)
        report = agent.run_session(pages, page_size=page_size)
        scores += [page_relevance(agent.interests, [o.topic for o in page]) for page in per_page(report.items)]
    return float(np.mean(scores)) if scores else 0.0


def newcomer_curve(client: Client, world: World, taste_of: str, user_id: str, *, sessions: int = 3,
                   pages: int = 5, page_size: int = 10, seed: int = 0, region: str | None = None) -> Curve:
    """A new account with `taste_of`'s hidden taste (nothing declared) scrolls `sessions` sessions of
    `pages` pages, an hour apart (the protocol established users were warmed with)."""
    region = region or world.viewer(taste_of).region
    expect_ok(client.post("/v1/users", json={"user_id": user_id, "region": region}), "POST /v1/users")
    agent = SimulatedUser(client, user_id, world.interests[taste_of], world=world, seed=seed, topics=world.topics)
    seen, xs, ys = 0, [], []
    for s in range(sessions):
        if s:
            agent.advance(3600.0)
        for page in per_page(agent.run_session(pages, page_size=page_size).items):
            xs.append(seen)
            ys.append(page_relevance(agent.interests, [o.topic for o in page]))
            seen += len(page)
    return Curve(xs, ys)


def mean_curve(curves: Sequence[Curve]) -> Curve:
    """Page-by-page mean over newcomers (curves cut to the shortest)."""
    n = min(len(c.relevance) for c in curves)
    return Curve(curves[0].interactions[:n], [float(np.mean([c.relevance[i] for c in curves])) for i in range(n)])
