"""'Your Algorithm': the user's own topic controls, and how they combine with learned affinity.

Storage: the controls live in the account record (`User.controls`, domain.TopicControls), so they are
durable in whichever record store runs (SQLite, PostgreSQL) with no extra table, survive restarts,
and a platform's user writes keep them (AccountWriter.put_users).

- added / boosted / muted: lists of topic names. Muted topics are removed by a mandatory filter
  (MutedTopicsFilter); boosted and added topics raise the score (TopicPreferenceScorer) and feed the
  chosen-topics source; added topics also shape a cold start like onboarding interests.
- offsets: an amount added to the learned topic affinity, decaying with the same time constant.
  'remove' cancels what was learned so far (the topic drops out of the list until new evidence);
  'see less' (`less`) goes below zero, like several "not interested" events would.
- hidden_posts: posts marked not interested, hidden or reported, never served again
  (NotInterestedFilter).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from reelrank.config import ControlSettings
from reelrank.domain import HIDDEN_POSTS_KEPT, Tag, TopicControls, TopicOffset, User
from reelrank.features.affinity import AffinityFeatures
from reelrank.state.catalogue import Catalogue

PATCH_FIELDS = ("add", "remove", "boost", "mute", "unmute", "less")
COMPATIBLE = frozenset({"add", "boost"})  # the only lists one topic may appear in together


class InterestsPatch(BaseModel):
    """Body of PATCH /v1/users/{id}/interests. Every list is optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    add: list[Tag] = Field(default_factory=list, max_length=64, description="Topics to add to my interests.")
    remove: list[Tag] = Field(default_factory=list, max_length=64,
                              description="Topics to drop: no longer boosted, added or counted as learned.")
    boost: list[Tag] = Field(default_factory=list, max_length=64, description="Topics to see more of.")
    mute: list[Tag] = Field(default_factory=list, max_length=64, description="Topics never to show.")
    unmute: list[Tag] = Field(default_factory=list, max_length=64)
    less: list[Tag] = Field(default_factory=list, max_length=64, description="'See less of this topic'.")

    @model_validator(mode="after")
    def _no_contradictions(self) -> InterestsPatch:
        where: dict[str, set[str]] = {}
        for name in PATCH_FIELDS:
            for topic in getattr(self, name):
                where.setdefault(topic, set()).add(name)
        for topic, lists in where.items():
            if len(lists) > 1 and not lists <= COMPATIBLE:
                raise ValueError(f"topic '{topic}' appears in {' and '.join(sorted(lists))}: pick one")
        return self


def _decayed(off: TopicOffset, now: float, tau: float) -> float:
    return off.value * math.exp(-max(now - off.at, 0.0) / tau)


def effective_affinity(raw: dict[str, float], controls: TopicControls, now: float, tau: float) -> dict[str, float]:
    """Learned topic affinity plus the user's own (decaying) adjustments."""
    out = dict(raw)
    for topic, off in controls.offsets.items():
        out[topic] = out.get(topic, 0.0) + _decayed(off, now, tau)
    return out


def _shift(controls: TopicControls, topic: str, delta: float, now: float, tau: float) -> None:
    """Add `delta` to the topic's adjustment (the old adjustment decayed to now first)."""
    old = controls.offsets.get(topic)
    value = (_decayed(old, now, tau) if old else 0.0) + delta
    if abs(value) < 1e-6:
        controls.offsets.pop(topic, None)
    else:
        controls.offsets[topic] = TopicOffset(at=now, value=value)


def _add(items: list[str], topic: str) -> None:
    if topic not in items:
        items.append(topic)


def _drop(items: list[str], topic: str) -> None:
    while topic in items:
        items.remove(topic)


def apply_patch(user: User, patch: InterestsPatch, raw: dict[str, float], now: float, tau: float,
                less_amount: float) -> User:
    """The user after the patch. `raw` is the learned topic affinity now (AffinityFeatures.topics)."""
    c = user.controls.model_copy(deep=True)
    interests = list(user.interests)

    def current(topic: str) -> float:
        return effective_affinity({topic: raw.get(topic, 0.0)}, c, now, tau)[topic]

    for t in patch.add:
        _add(c.added, t)
        _drop(c.muted, t)
        if (a := current(t)) < 0:  # adding a topic forgives earlier "see less" of it
            _shift(c, t, -a, now, tau)
    for t in patch.boost:
        _add(c.boosted, t)
        _drop(c.muted, t)
        if (a := current(t)) < 0:
            _shift(c, t, -a, now, tau)
        if t not in c.added and t not in interests and current(t) <= 0:
            _add(c.added, t)  # boosting a topic the engine knew nothing about also adds it
    for t in patch.unmute:
        _drop(c.muted, t)
    for t in patch.mute:
        _add(c.muted, t)
        _drop(c.boosted, t)
    for t in patch.remove:
        _drop(c.added, t)
        _drop(c.boosted, t)
        _drop(interests, t)
        if (a := current(t)) > 0:  # forget what was learned so far; new evidence counts again
            _shift(c, t, -a, now, tau)
    for t in patch.less:
        _drop(c.added, t)
        _drop(c.boosted, t)
        _drop(interests, t)
        _shift(c, t, -max(current(t), 0.0) - less_amount, now, tau)
    return user.model_copy(update={"controls": c, "interests": interests})


def with_hidden_posts(user: User, post_ids: Iterable[str]) -> User:
    """The user with posts added to the never-again list (newest kept, at most HIDDEN_POSTS_KEPT)."""
    c = user.controls.model_copy(deep=True)
    fresh = [p for p in dict.fromkeys(post_ids) if p not in set(c.hidden_posts)]
    if not fresh:
        return user
    c.hidden_posts = (c.hidden_posts + fresh)[-HIDDEN_POSTS_KEPT:]
    return user.model_copy(update={"controls": c})


@dataclass
class ControlsView:
    """What the funnel needs from the controls, as catalogue codes and pids (see FeedContext)."""

    topic_affinity: dict[int, float] = field(default_factory=dict)
    muted: set[int] = field(default_factory=set)
    boosted: set[int] = field(default_factory=set)
    added: set[int] = field(default_factory=set)
    never: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class ControlsReader:
    """Builds the per-request ControlsView: one hash read (affinity) plus the user's record."""

    def __init__(self, affinity: AffinityFeatures, catalogue: Catalogue, settings: ControlSettings) -> None:
        self._affinity = affinity
        self._cat = catalogue
        self.settings = settings

    @property
    def tau_s(self) -> float:
        return self._affinity.tau_s

    def raw_affinity(self, uid: int, now: float) -> dict[str, float]:
        return self._affinity.topics(uid, now)

    def affinity(self, uid: int, user: User, now: float) -> dict[str, float]:
        """topic name -> effective affinity (learned plus the user's adjustments)."""
        return effective_affinity(self.raw_affinity(uid, now), user.controls, now, self.tau_s)

    def view(self, uid: int, user: User, now: float) -> ControlsView:
        return controls_view(self._cat, user, self.affinity(uid, user, now))


def controls_view(catalogue: Catalogue, user: User, affinity: dict[str, float]) -> ControlsView:
    """The user's controls as catalogue codes and pids; `affinity` by topic name (may be empty)."""
    topics = catalogue.topics

    def codes(names: Iterable[str]) -> set[int]:
        return {c for c in (topics.find(t) for t in names) if c > 0}

    aff = {}
    for name, a in affinity.items():
        code = topics.find(name)
        if code > 0 and abs(a) > 1e-6:
            aff[code] = a
    c = user.controls
    never = np.zeros(0, dtype=np.int64)
    if c.hidden_posts:
        pid_of = catalogue.pid_of
        never = np.fromiter((pid_of.get(p, 0) for p in c.hidden_posts), dtype=np.int64, count=len(c.hidden_posts))
        never = never[never > 0]
    return ControlsView(aff, codes(c.muted), codes(c.boosted), codes(c.added), never)
