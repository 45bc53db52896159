"""Many simulated users at once, and loading a world into a running engine through its API.

`load_world` is how tests, the demo and benchmarks put a synthetic world behind the HTTP API (the
same path a platform integration takes, so the API's validation is exercised too). `run_population`
lets a sample of the world's viewers scroll for several sessions and aggregates their reports; the
per-session means form a learning curve (does the top-topic share rise from session 1 to N?).
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from reelrank.simulation.agent import Behaviour, SessionReport, SimulatedUser
from reelrank.simulation.api import Client, SimulationError, expect_ok
from reelrank.simulation.world import World

# SessionReport fields aggregated across a population (per-page lists are averaged per session).
METRICS: tuple[str, ...] = (
    "items_shown",
    "watch_seconds",
    "likes",
    "shares",
    "saves",
    "comments",
    "follows",
    "skips",
    "not_interested",
    "mean_watch_ratio",
    "top_topic_share",
    "distinct_topics",
    "repeated_items",
)


def _metric(report: SessionReport, name: str) -> float:
    if name == "distinct_topics":
        pages = report.distinct_topics_per_page
        return float(np.mean(pages)) if pages else 0.0
    return float(getattr(report, name))


@dataclass(slots=True)
class PopulationReport:
    """Aggregates over every session of every simulated user (mean and median of each metric)."""

    n_users: int
    sessions: int
    reports: list[SessionReport] = field(default_factory=list)
    seconds: float = 0.0

    def values(self, metric: str, session: int | None = None) -> np.ndarray:
        """One value per session report (only session number `session`, 0-based, if given)."""
        per_user = self.sessions or 1
        picked = [r for i, r in enumerate(self.reports) if session is None or i % per_user == session]
        return np.array([_metric(r, metric) for r in picked], dtype=float)

    def mean(self, metric: str) -> float:
        v = self.values(metric)
        return float(v.mean()) if len(v) else 0.0

    def p50(self, metric: str) -> float:
        v = self.values(metric)
        return float(np.median(v)) if len(v) else 0.0

    def by_session(self, metric: str) -> list[float]:
        """Mean of `metric` for session 1, 2, ...: the learning curve."""
        return [float(v.mean()) if len(v := self.values(metric, s)) else 0.0 for s in range(self.sessions)]

    def latency_ms(self, q: float) -> float:
        lat = [x for r in self.reports for x in r.feed_latency_ms]
        return float(np.percentile(lat, q)) if lat else 0.0

    def summary(self) -> dict[str, Any]:
        """A flat, JSON-ready view: mean/p50 per metric, the top-topic learning curve, feed latency."""
        out: dict[str, Any] = {"users": self.n_users, "sessions": self.sessions, "seconds": round(self.seconds, 2)}
        for m in METRICS:
            out[m] = {"mean": round(self.mean(m), 4), "p50": round(self.p50(m), 4)}
        out["top_topic_share_by_session"] = [round(x, 4) for x in self.by_session("top_topic_share")]
        out["feed_latency_ms"] = {f"p{q}": round(self.latency_ms(q), 2) for q in (50, 95, 99)}
        return out


def run_population(
    client: Client,
    world: World,
    n_users: int = 50,
    sessions: int = 3,
    *,
    pages: int = 5,
    page_size: int = 10,
    surface: str = "reels",
    seed: int = 0,
    users: Sequence[str] | None = None,
    session_gap: float = 3600.0,
    time_step: float | None = None,
    clock: Callable[[], float] = time.time,
    behaviour: Behaviour | None = None,
    progress: bool = False,
) -> PopulationReport:
    """Let `n_users` viewers (a seeded sample, or exactly `users`) each scroll `sessions` sessions.

    Sessions are interleaved (everyone's first session, then everyone's second, ...) so that global
    state such as popularity evolves as it would with concurrent users. Each agent's clock moves
    `session_gap` simulated seconds between its sessions.
    """
    rng = np.random.default_rng(seed)
    if users is None:
        ids = [u.user_id for u in world.viewers]
        picked = rng.choice(len(ids), size=min(n_users, len(ids)), replace=False)
        users = [ids[i] for i in sorted(picked.tolist())]
    agents = [
        SimulatedUser.from_world(client, world, uid, seed=seed * 100_003 + i, clock=clock, behaviour=behaviour)
        for i, uid in enumerate(users)
    ]
    report = PopulationReport(n_users=len(agents), sessions=sessions)
    per_agent: list[list[SessionReport]] = [[] for _ in agents]
    t0 = time.perf_counter()
    with tqdm(total=len(agents) * sessions, desc="sessions", unit="session", disable=not progress) as bar:
        for s in range(sessions):
            for i, agent in enumerate(agents):
                if s:
                    agent.advance(session_gap)
                per_agent[i].append(agent.run_session(pages, surface, page_size, time_step))
                bar.update(1)
    # Stored user-major (user 0's sessions, then user 1's): values(metric, session) relies on it.
    report.reports = [r for reports in per_agent for r in reports]
    report.seconds = time.perf_counter() - t0
    return report


@dataclass(frozen=True, slots=True)
class LoadReport:
    users: int
    posts: int
    follows: int
    seconds: float


class WorldLoadError(SimulationError):
    """Loading a world failed; the message names the request and quotes the API's answer."""


def _post(client: Client, url: str, body: dict[str, Any] | None) -> Any:
    """POST and fail with a WorldLoadError that shows what the API said."""
    try:
        return expect_ok(client.post(url, json=body), f"POST {url}")
    except SimulationError as e:
        raise WorldLoadError(f"loading the world failed: {e}") from None


def load_world(
    client: Client, world: World, batch: int = 500, progress: bool = True, follows: bool = True
) -> LoadReport:
    """Create the world's accounts, posts and follows through the API, in that order.

    Accounts go first because posts name their creators and follows name both ends. Any non-2xx
    answer raises WorldLoadError carrying the response body (which names the offending field).
    """
    if batch < 1:
        raise ValueError("batch must be >= 1")
    t0 = time.perf_counter()
    accounts = world.creators + world.viewers
    pairs = world.follow_pairs() if follows else []
    total = len(accounts) + len(world.posts) + len(pairs)
    with tqdm(total=total, desc="loading world", unit="rec", disable=not progress) as bar:
        for i in range(0, len(accounts), batch):
            chunk = accounts[i : i + batch]
            _post(client, "/v1/users/batch", {"users": [u.model_dump(mode="json", exclude_none=True) for u in chunk]})
            bar.update(len(chunk))
        for i in range(0, len(world.posts), batch):
            chunk_p = world.posts[i : i + batch]
            body = {"posts": [p.model_dump(mode="json", exclude_none=True) for p in chunk_p]}
            _post(client, "/v1/posts/batch", body)
            bar.update(len(chunk_p))
        for src, dst in pairs:
            q = urllib.parse.quote
            _post(client, f"/v1/users/{q(src, safe='')}/follows/{q(dst, safe='')}", None)
            bar.update(1)
    return LoadReport(users=len(accounts), posts=len(world.posts), follows=len(pairs), seconds=time.perf_counter() - t0)
