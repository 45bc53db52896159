"""A simulated person scrolling a feed through the engine's HTTP API.

The agent knows its own hidden taste (topic weights from the world) and nothing about the engine. For
every post it is shown it watches for a while and sometimes likes, shares, saves, comments, follows,
skips or says "not interested", with probabilities that rise with how well the post matches that
taste. The engine only ever sees the events, exactly as it would from a real app, so a session's
report measures whether the feed learned: watch time, likes, and the share of items on the person's
strongest topic.

It drives any client with `.get(url, params=...)` and `.post(url, json=...)` returning objects with
`.status_code` and `.json()`: an `httpx.Client(base_url=...)` against a server, or starlette's
`TestClient` in-process.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from reelrank.domain import Event, EventKind, PostKind, Surface
from reelrank.simulation.api import Client, expect_ok
from reelrank.simulation.topics import TOPIC_NAMES

if TYPE_CHECKING:
    from reelrank.simulation.world import World


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How taste turns into actions. Defaults give believable rates (likes ~ a third of well-matched
    posts, shares/saves a few percent); tests and benchmarks can sharpen or blur the signal."""

    primary_weight: float = 1.0  # weight of the post's primary topic in the affinity
    secondary_weight: float = 0.5  # weight of each further topic
    noise: float = 0.05  # std of gaussian noise added to the affinity
    sharpness: float = 3.0  # engagement = 1 - exp(-sharpness * affinity)
    concentration: float = 6.0  # Beta concentration of the watch ratio (higher: less random)
    rewatch: float = 0.25  # chance, times engagement, that a reel loops a second time
    skip_below: float = 0.2  # watch ratio under which the viewer also sends a skip
    not_interested_below: float = 0.02  # affinity under which "not interested" can happen
    not_interested_p: float = 0.05
    like: tuple[float, float] = (0.01, 0.45)  # (base, gain): p = base + gain * engagement**2
    comment: tuple[float, float] = (0.002, 0.06)
    share: tuple[float, float] = (0.002, 0.05)
    save: tuple[float, float] = (0.002, 0.07)
    follow: tuple[float, float] = (0.001, 0.05)
    photo_dwell_ms: int = 6_000  # nominal "duration" of a photo: its dwell is reported against this
    carousel_dwell_ms: int = 12_000
    default_duration_ms: int = 20_000  # a reel whose duration the agent cannot look up


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What happened to one shown item: the agent's ground truth, for reports and tests."""

    page: int
    position: int
    post_id: str
    creator_id: str
    topic: str | None  # primary topic
    affinity: float
    watch_ratio: float
    watch_ms: int
    kinds: tuple[str, ...]  # event kinds sent for this item, view first
    on_top_topic: bool  # primary topic was the viewer's strongest hidden topic at the time


@dataclass(slots=True)
class SessionReport:
    """One session's outcome. Shares are over items shown; per-page lists show how the feed moved."""

    user_id: str
    surface: str
    pages: int = 0
    items_shown: int = 0
    watch_seconds: float = 0.0
    likes: int = 0
    shares: int = 0
    saves: int = 0
    comments: int = 0
    follows: int = 0
    skips: int = 0
    not_interested: int = 0
    mean_watch_ratio: float = 0.0
    top_topic: str | None = None  # the strongest hidden topic at the end of the session
    top_topic_share: float = 0.0
    topic_share_per_page: list[float] = field(default_factory=list)
    distinct_topics_per_page: list[int] = field(default_factory=list)
    repeated_items: int = 0  # items shown more than once in this session (a dedup failure)
    feed_latency_ms: list[float] = field(default_factory=list)
    items: list[ItemOutcome] = field(default_factory=list)

    def by_topic(self) -> dict[str, dict[str, float]]:
        """Items, watch seconds and likes per primary topic: where the attention went."""
        out: dict[str, dict[str, float]] = {}
        for it in self.items:
            row = out.setdefault(it.topic or "?", {"items": 0, "watch_seconds": 0.0, "likes": 0})
            row["items"] += 1
            row["watch_seconds"] += it.watch_ms / 1000
            row["likes"] += "like" in it.kinds
        return out


_POSITIVE: tuple[tuple[EventKind, str], ...] = (
    (EventKind.LIKE, "like"),
    (EventKind.COMMENT, "comment"),
    (EventKind.SHARE, "share"),
    (EventKind.SAVE, "save"),
    (EventKind.FOLLOW, "follow"),
)


class SimulatedUser:
    """One person with a hidden taste, scrolling pages of a feed and sending what they did."""

    def __init__(
        self,
        client: Client,
        user_id: str,
        interests: Mapping[str, float],
        *,
        world: World | None = None,
        seed: int | None = 0,
        clock: Callable[[], float] = time.time,
        behaviour: Behaviour | None = None,
        topics: Sequence[str] | None = None,
        id_prefix: str | None = None,
        followed: Sequence[str] = (),
    ) -> None:
        """`world` (optional) supplies post kinds and durations; without it reels are assumed to last
        `behaviour.default_duration_ms`. `clock` is read for every event's ts, so tests can pass a
        fake one. Event ids start with `id_prefix` (default: user id plus a random token, so repeated
        runs against one server are never taken for duplicates)."""
        if not interests or sum(interests.values()) <= 0:
            raise ValueError("interests must have at least one positive weight")
        self.client = client
        self.user_id = user_id
        self.world = world
        self.rng = np.random.default_rng(seed)
        self.clock = clock
        self.behaviour = behaviour or Behaviour()
        self.topics = tuple(topics or (world.topics if world is not None else TOPIC_NAMES))
        self.id_prefix = id_prefix or f"{user_id[:80]}-{uuid.uuid4().hex[:12]}"
        self.followed: set[str] = set(followed)
        self._interests: dict[str, float] = {}
        self._set_interests(dict(interests))
        self._offset = 0.0
        self._counter = 0
        self.sessions = 0

    @classmethod
    def from_world(cls, client: Client, world: World, user_id: str, **kwargs: Any) -> SimulatedUser:
        """The agent for one of the world's viewers, with its hidden taste and existing follows."""
        kwargs.setdefault("followed", world.followees(user_id))
        return cls(client, user_id, world.interests[user_id], world=world, topics=world.topics, **kwargs)

    # -- taste -------------------------------------------------------------------------------

    @property
    def interests(self) -> dict[str, float]:
        return dict(self._interests)

    @property
    def top_topic(self) -> str:
        return max(self._interests, key=lambda t: self._interests[t])

    def _set_interests(self, weights: dict[str, float]) -> None:
        kept = {t: w for t, w in weights.items() if w > 1e-3}
        total = sum(kept.values())
        self._interests = {t: w / total for t, w in sorted(kept.items(), key=lambda kv: -kv[1])}

    def drift(self, rate: float) -> None:
        """Move a `rate` fraction of the taste towards 1-2 random topics other than the current top
        one: slow change away from what the feed has (presumably) learned."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be in [0, 1]")
        others = [t for t in self.topics if t != self.top_topic] or list(self.topics)
        picks = self.rng.choice(len(others), size=min(len(others), 1 + int(self.rng.random() < 0.5)), replace=False)
        share = self.rng.dirichlet(np.ones(len(picks)))
        new = {t: (1 - rate) * w for t, w in self._interests.items()}
        for j, s in zip(picks.tolist(), share.tolist(), strict=True):
            new[others[j]] = new.get(others[j], 0.0) + rate * s
        self._set_interests(new)

    def switch_interest(self, new_topic: str, strength: float = 1.0) -> None:
        """Abruptly care about `new_topic` (strength 1: only it), to test how fast a feed adapts."""
        if not 0 < strength <= 1:
            raise ValueError("strength must be in (0, 1]")
        new = {t: (1 - strength) * w for t, w in self._interests.items()}
        new[new_topic] = new.get(new_topic, 0.0) + strength
        self._set_interests(new)

    def affinity(self, topics: Sequence[str]) -> float:
        """How much this person likes a post on `topics` (primary first), before noise; 0 = not at all."""
        b = self.behaviour
        w = self._interests
        return sum((b.primary_weight if i == 0 else b.secondary_weight) * w.get(t, 0.0) for i, t in enumerate(topics))

    # -- time --------------------------------------------------------------------------------

    def now(self) -> float:
        """The simulated time: the clock plus everything fast-forwarded so far."""
        return self.clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Fast-forward the simulated clock, e.g. the gap between two sessions."""
        self._offset += seconds

    # -- reacting ----------------------------------------------------------------------------

    def _next_id(self) -> str:
        self._counter += 1
        return f"{self.id_prefix}-{self._counter:07d}"

    def _post_shape(self, post_id: str, topics: Sequence[str]) -> tuple[PostKind, int, list[str]]:
        """Kind, the duration to report watch time against, and topics (the world's, if it knows)."""
        b = self.behaviour
        post = None
        if self.world is not None:
            try:
                post = self.world.post(post_id)
            except KeyError:
                post = None
        if post is None:
            return PostKind.REEL, b.default_duration_ms, list(topics)
        nominal = {PostKind.PHOTO: b.photo_dwell_ms, PostKind.CAROUSEL: b.carousel_dwell_ms}
        duration = post.duration_ms or nominal.get(post.kind, b.default_duration_ms)
        return post.kind, duration, list(topics) or list(post.topics)

    def react(
        self,
        item: Mapping[str, Any],
        *,
        page: int = 0,
        surface: str = "reels",
        request_id: str | None = None,
        end_ts: float | None = None,
    ) -> tuple[ItemOutcome, list[Event]]:
        """What this person does with one feed item, and the events that say so (validated models).

        Nothing is sent: run_session batches the events. `end_ts` is when the viewer moved on.
        """
        b = self.behaviour
        post_id = str(item["post_id"])
        creator_id = str(item.get("creator_id", ""))
        kind, duration, topics = self._post_shape(post_id, item.get("topics") or [])
        a = max(0.0, self.affinity(topics) + float(self.rng.normal(0.0, b.noise)))
        engaged = 1.0 - math.exp(-b.sharpness * a)
        mean = 0.08 + 0.82 * engaged
        ratio = float(self.rng.beta(mean * b.concentration, (1 - mean) * b.concentration))
        if kind is PostKind.REEL and self.rng.random() < b.rewatch * engaged:
            ratio += float(self.rng.beta(2.0, 2.0))
        watch_ms = max(1, int(ratio * duration))
        ts = self.now() if end_ts is None else end_ts
        position = int(item.get("position", 0))
        common: dict[str, Any] = {
            "user_id": self.user_id,
            "post_id": post_id,
            "surface": Surface(surface),
            "request_id": request_id,
            "position": position,
        }
        events = [
            Event(
                event_id=self._next_id(), kind=EventKind.VIEW, ts=ts, watch_ms=watch_ms, duration_ms=duration, **common
            )
        ]
        if ratio < b.skip_below:
            events.append(Event(event_id=self._next_id(), kind=EventKind.SKIP, ts=ts, **common))
            if a < b.not_interested_below and self.rng.random() < b.not_interested_p:
                events.append(Event(event_id=self._next_id(), kind=EventKind.NOT_INTERESTED, ts=ts, **common))
        else:
            draws = self.rng.random(len(_POSITIVE))
            for (ev_kind, _), (base, gain), u in zip(
                _POSITIVE, (b.like, b.comment, b.share, b.save, b.follow), draws.tolist(), strict=True
            ):
                if u >= base + gain * engaged**2:
                    continue
                if ev_kind is EventKind.FOLLOW:
                    if not creator_id or creator_id in self.followed or creator_id == self.user_id:
                        continue
                    self.followed.add(creator_id)
                    events.append(
                        Event(event_id=self._next_id(), kind=ev_kind, ts=ts, target_user_id=creator_id, **common)
                    )
                else:
                    events.append(Event(event_id=self._next_id(), kind=ev_kind, ts=ts, **common))
        topic = topics[0] if topics else None
        outcome = ItemOutcome(
            page=page,
            position=position,
            post_id=post_id,
            creator_id=creator_id,
            topic=topic,
            affinity=a,
            watch_ratio=ratio,
            watch_ms=watch_ms,
            kinds=tuple(e.kind.value for e in events),
            on_top_topic=topic == self.top_topic,
        )
        return outcome, events

    # -- sessions ----------------------------------------------------------------------------

    def fetch_page(self, surface: str, page_size: int, cursor: str | None) -> tuple[dict[str, Any], float]:
        """One GET /v1/feed; returns the body and the latency in milliseconds."""
        params: dict[str, Any] = {"user_id": self.user_id, "surface": surface, "page_size": page_size}
        if cursor:
            params["cursor"] = cursor
        t0 = time.perf_counter()
        resp = self.client.get("/v1/feed", params=params)
        latency = (time.perf_counter() - t0) * 1000
        return expect_ok(resp, f"GET /v1/feed for {self.user_id}"), latency

    def send(self, events: Sequence[Event]) -> dict[str, Any]:
        """POST one batch of events; the API's {"accepted", "duplicates"} answer."""
        body = {"events": [e.model_dump(mode="json", exclude_none=True) for e in events]}
        return expect_ok(self.client.post("/v1/events", json=body), f"POST /v1/events for {self.user_id}")

    def run_session(
        self, n_pages: int = 5, surface: str = "reels", page_size: int = 10, time_step: float | None = None
    ) -> SessionReport:
        """Scroll `n_pages` pages, sending one event batch after each page; stops early on an empty page.

        Events are stamped as if they happened while the page was watched, ending at the moment the
        batch is sent (never in the future). `time_step` fast-forwards the simulated clock by that
        many seconds after each page (None: only the caller's clock moves time).
        """
        report = SessionReport(user_id=self.user_id, surface=surface)
        seen: set[str] = set()
        cursor: str | None = None
        ratios: list[float] = []
        for page in range(n_pages):
            body, latency = self.fetch_page(surface, page_size, cursor)
            report.feed_latency_ms.append(latency)
            items = body.get("items") or []
            if not items:
                break
            request_id = body.get("request_id")
            outcomes: list[ItemOutcome] = []
            batches: list[list[Event]] = []
            for item in items:
                outcome, events = self.react(item, page=page, surface=surface, request_id=request_id)
                outcomes.append(outcome)
                batches.append(events)
            # Stamp times backwards from "now": the page was watched, then the batch goes out.
            t = self.now()
            for outcome, events in zip(reversed(outcomes), reversed(batches), strict=True):
                for e in events:
                    e.ts = t
                t -= outcome.watch_ms / 1000
            self.send([e for events in batches for e in events])
            self._account(report, outcomes, seen)
            ratios.extend(o.watch_ratio for o in outcomes)
            cursor = body.get("next_cursor") or None
            if time_step:
                self.advance(time_step)
        report.mean_watch_ratio = float(np.mean(ratios)) if ratios else 0.0
        report.top_topic = self.top_topic
        report.top_topic_share = (
            sum(o.on_top_topic for o in report.items) / report.items_shown if report.items_shown else 0.0
        )
        self.sessions += 1
        return report

    @staticmethod
    def _account(report: SessionReport, outcomes: list[ItemOutcome], seen: set[str]) -> None:
        report.pages += 1
        report.items_shown += len(outcomes)
        report.items.extend(outcomes)
        for o in outcomes:
            report.repeated_items += o.post_id in seen
            seen.add(o.post_id)
            report.watch_seconds += o.watch_ms / 1000
            report.likes += "like" in o.kinds
            report.shares += "share" in o.kinds
            report.saves += "save" in o.kinds
            report.comments += "comment" in o.kinds
            report.follows += "follow" in o.kinds
            report.skips += "skip" in o.kinds
            report.not_interested += "not_interested" in o.kinds
        report.topic_share_per_page.append(sum(o.on_top_topic for o in outcomes) / len(outcomes))
        report.distinct_topics_per_page.append(len({o.topic for o in outcomes}))
