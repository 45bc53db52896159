"""'Your Algorithm': what the engine believes a person likes, why, and their own controls.

The view combines three things: the learned topic affinity (features/affinity.py, with the person's
adjustments applied), the declared topics (onboarding, added, boosted, muted; stored with the
account), and evidence: the person's recent supporting actions, read from the durable event log.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from reelrank.domain import User
from reelrank.features.signals import event_weight
from reelrank.features.user_controls import ControlsReader, InterestsPatch, apply_patch, effective_affinity
from reelrank.ingest.account_writer import AccountWriter
from reelrank.state.catalogue import Catalogue
from reelrank.state.records.base import RecordStore

if TYPE_CHECKING:
    from reelrank.engine import Engine

STRENGTH_SCALE = 3.0  # affinity at which strength is 1 - 1/e (about three completed views or likes)
MIN_INFERRED = 0.3  # learned affinity below this is noise, not an interest
MAX_INFERRED = 20
EVIDENCE_PER_TOPIC = 5
EVENTS_SCANNED = 200
FLOOR = {"added": 0.5, "onboarding": 0.3, "inferred": 0.0}  # declared topics count before any evidence
DISLIKED = -0.5  # effective affinity under which the summary says "less interest"


class Evidence(BaseModel):
    """One supporting action: an event kind on a post, or kind 'onboarding' (post_id "") for a topic
    picked at sign-up."""

    post_id: str
    kind: str
    ts: float


class TopicView(BaseModel):
    topic: str
    strength: float = Field(ge=0.0, le=1.0)
    origin: Literal["inferred", "onboarding", "added"]
    state: Literal["normal", "boosted", "muted"]
    evidence: list[Evidence]


class InterestsView(BaseModel):
    user_id: str
    summary: str
    topics: list[TopicView]
    muted: list[str]


class InterestsService:
    def __init__(self, writer: AccountWriter, catalogue: Catalogue, controls: ControlsReader,
                 records: RecordStore) -> None:
        self._writer = writer
        self._cat = catalogue
        self._controls = controls
        self._records = records

    @classmethod
    def of(cls, engine: Engine) -> InterestsService:
        return cls(engine.account_writer, engine.catalogue, engine.controls, engine.records)

    def view(self, user_id: str, now: float | None = None) -> InterestsView:
        now = time.time() if now is None else now
        uid, user = self._writer.get_user(user_id)
        affinity = self._controls.affinity(uid, user, now)
        return self._view(user, affinity)

    def patch(self, user_id: str, body: InterestsPatch, now: float | None = None) -> InterestsView:
        now = time.time() if now is None else now
        uid, _ = self._writer.get_user(user_id)
        raw = self._controls.raw_affinity(uid, now)
        s = self._controls.settings
        user = self._writer.update_user(
            user_id, lambda u: apply_patch(u, body, raw, now, self._controls.tau_s, s.less_amount))
        return self._view(user, effective_affinity(raw, user.controls, now, self._controls.tau_s))

    # -- building the view ---------------------------------------------------------------------------
    def _view(self, user: User, affinity: dict[str, float]) -> InterestsView:
        c = user.controls
        evidence = self._evidence(user.user_id)
        learned = sorted((t for t, a in affinity.items() if a >= MIN_INFERRED), key=lambda t: -affinity[t])
        names = list(dict.fromkeys([*learned[:MAX_INFERRED], *user.interests, *c.added, *c.boosted, *c.muted]))
        rows = []
        for t in names:
            origin: Literal["inferred", "onboarding", "added"] = (
                "added" if t in c.added else "onboarding" if t in user.interests else "inferred")
            a = affinity.get(t, 0.0)
            strength = max(1.0 - math.exp(-max(a, 0.0) / STRENGTH_SCALE), FLOOR[origin])
            state: Literal["normal", "boosted", "muted"] = (
                "muted" if t in c.muted else "boosted" if t in c.boosted else "normal")
            ev = list(evidence.get(t, []))
            if t in user.interests and len(ev) < EVIDENCE_PER_TOPIC:  # picked at sign-up: the oldest evidence
                ev.append(Evidence(post_id="", kind="onboarding", ts=user.created_at))
            rows.append(TopicView(topic=t, strength=round(strength, 3), origin=origin, state=state, evidence=ev))
        rows.sort(key=lambda r: (r.state == "muted", -r.strength, r.topic))
        disliked = sorted((t for t, a in affinity.items() if a <= DISLIKED and t not in c.muted),
                          key=lambda t: affinity[t])
        return InterestsView(user_id=user.user_id, summary=summarise(user, rows, disliked), topics=rows,
                             muted=list(c.muted))

    def _evidence(self, user_id: str) -> dict[str, list[Evidence]]:
        """topic -> the newest actions that support it (positive signals only), newest first."""
        out: dict[str, list[Evidence]] = {}
        pid_of = self._cat.pid_of
        for e in self._records.recent_events(user_id, EVENTS_SCANNED):
            if e.post_id is None or event_weight(e.kind, e.watch_ms, e.duration_ms) <= 0:
                continue
            pid = pid_of.get(e.post_id)
            if pid is None:
                continue
            for t in self._cat.topic_names(pid):
                got = out.setdefault(t, [])
                if len(got) < EVIDENCE_PER_TOPIC:
                    got.append(Evidence(post_id=e.post_id, kind=e.kind.value, ts=e.ts))
        return out


def _words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def summarise(user: User, rows: list[TopicView], disliked: list[str]) -> str:
    """A few plain sentences a person can read."""
    live = [r for r in rows if r.state != "muted"]
    learned = [r.topic for r in live if r.origin == "inferred" or any(e.kind != "onboarding" for e in r.evidence)][:3]
    picked = [r.topic for r in live if r.origin == "onboarding" and all(e.kind == "onboarding" for e in r.evidence)]
    parts: list[str] = []
    if learned:
        parts.append(f"From what you watched and liked recently, you seem most into {_words(learned)}.")
    if picked:
        parts.append(f"You picked {_words(picked)} when you signed up.")
    added = [r.topic for r in live if r.origin == "added" and r.topic not in learned]
    if added:
        parts.append(f"You added {_words(added)}.")
    boosted = [r.topic for r in rows if r.state == "boosted"]
    if boosted:
        parts.append(f"You asked to see more {_words(boosted)}.")
    if user.controls.muted:
        parts.append(f"You muted {_words(list(user.controls.muted))}: posts on it are never shown.")
    if disliked:
        parts.append(f"You showed less interest in {_words(disliked[:3])}, so it appears less.")
    if not live:
        parts.insert(0, f"We don't know what you like yet, so your feed starts with what is popular in "
                        f"{user.region}. It adapts as soon as you watch, like or skip posts.")
    else:
        parts.append("A few posts outside these topics still appear, so you can discover new ones.")
    return " ".join(parts)
