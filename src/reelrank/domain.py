"""The platform's vocabulary: accounts, posts, social edges, reports and interaction events.

These pydantic models are both the API's input schema and the records the store keeps, so a rule
(an id's shape, a duration's range) is written once and every error names the field it broke.
Inside the funnel, candidates travel as numpy arrays of internal integer ids (see pipeline/), not
as these objects.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Ids are the platform's own strings; the engine maps them to dense integers internally.
ExternalId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")]
RegionCode = Annotated[str, Field(min_length=2, max_length=8, pattern=r"^[A-Za-z0-9-]+$")]
Tag = Annotated[str, Field(min_length=1, max_length=64)]


def now() -> float:
    return time.time()


class Surface(StrEnum):
    REELS = "reels"
    EXPLORE = "explore"


class PostKind(StrEnum):
    REEL = "reel"
    PHOTO = "photo"
    CAROUSEL = "carousel"


class PostStatus(StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"


class EdgeKind(StrEnum):
    FOLLOW = "follow"
    BLOCK = "block"
    MUTE = "mute"


class EventKind(StrEnum):
    IMPRESSION = "impression"
    VIEW = "view"
    LIKE = "like"
    COMMENT = "comment"
    SHARE = "share"
    SAVE = "save"
    SKIP = "skip"
    NOT_INTERESTED = "not_interested"
    FOLLOW = "follow"
    REPORT = "report"
    HIDE = "hide"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UserSettings(_Model):
    """What a person chose to see. Defaults are the conservative ones."""

    show_sensitive: bool = Field(False, description="Opted in to sensitive (non-restricted) content.")
    hidden_categories: list[Tag] = Field(
        default_factory=list, description="Restricted categories this person opted out of."
    )


HIDDEN_POSTS_KEPT = 2000  # most recent "never again" posts kept per account


class TopicOffset(_Model):
    """An amount added to the learned affinity for a topic at time `at`; it decays like the affinity."""

    at: float
    value: float


class TopicControls(_Model):
    """'Your Algorithm': what this person told the engine about topics and posts. Stored with the
    account (durable); a platform's user write that leaves `controls` out keeps them."""

    added: list[Tag] = Field(default_factory=list, max_length=256, description="Topics the person added.")
    boosted: list[Tag] = Field(default_factory=list, max_length=256, description="Topics to see more of.")
    muted: list[Tag] = Field(default_factory=list, max_length=256, description="Topics never to be shown.")
    offsets: dict[Tag, TopicOffset] = Field(
        default_factory=dict, description="Added to the learned topic affinity: how 'remove' and 'see less' persist."
    )
    hidden_posts: list[ExternalId] = Field(
        default_factory=list, max_length=10 * HIDDEN_POSTS_KEPT,
        description="Posts marked not interested, hidden or reported: never served to this person again.",
    )


class User(_Model):
    """An account: a viewer, and a creator once it posts."""

    user_id: ExternalId
    region: RegionCode = "US"
    language: Annotated[str, Field(min_length=2, max_length=16)] = "en"
    birth_year: int | None = Field(None, ge=1900, le=2100)
    interests: list[Tag] = Field(default_factory=list, max_length=64, description="Onboarding interests (topics).")
    is_private: bool = Field(False, description="Private account: its posts reach followers only.")
    settings: UserSettings = Field(default_factory=UserSettings)
    controls: TopicControls = Field(default_factory=TopicControls)
    created_at: float = Field(default_factory=now)

    def age(self, at: float | None = None) -> int | None:
        if self.birth_year is None:
            return None
        year = time.gmtime(at if at is not None else now()).tm_year
        return year - self.birth_year


class UserPatch(_Model):
    """Partial update of a user: only the fields given change."""

    region: RegionCode | None = None
    language: Annotated[str, Field(min_length=2, max_length=16)] | None = None
    birth_year: int | None = Field(None, ge=1900, le=2100)
    interests: list[Tag] | None = Field(None, max_length=64)
    is_private: bool | None = None
    settings: UserSettings | None = None


class Post(_Model):
    post_id: ExternalId
    creator_id: ExternalId
    kind: PostKind = PostKind.REEL
    caption: Annotated[str, Field(max_length=4000)] = ""
    hashtags: list[Tag] = Field(default_factory=list, max_length=64)
    topics: list[Tag] = Field(default_factory=list, max_length=16, description="First topic is the primary one.")
    category: Tag | None = Field(None, description="Restricted category (e.g. 'gambling'), if any.")
    sensitive: bool = False
    min_age: int | None = Field(None, ge=0, le=99, description="Viewers younger than this never see the post.")
    duration_ms: int | None = Field(None, gt=0, le=3 * 3600 * 1000)
    created_at: float = Field(default_factory=now)
    allowed_regions: list[RegionCode] | None = Field(None, description="If set, only these regions may see it.")
    blocked_regions: list[RegionCode] = Field(default_factory=list)
    status: PostStatus = PostStatus.ACTIVE
    media_vector: list[float] | None = Field(None, description="Platform-supplied media embedding (any fixed size).")

    @field_validator("hashtags")
    @classmethod
    def _strip_hash(cls, v: list[str]) -> list[str]:
        return [t.lstrip("#") for t in v]

    @field_validator("media_vector")
    @classmethod
    def _finite(cls, v: list[float] | None) -> list[float] | None:
        if v is not None:
            if not v or len(v) > 4096:
                raise ValueError("must have between 1 and 4096 numbers")
            if any(x != x or x in (float("inf"), float("-inf")) for x in v):
                raise ValueError("must contain finite numbers only")
        return v

    def text(self) -> str:
        """The text the content encoder sees."""
        tags = " ".join(f"#{h}" for h in self.hashtags)
        topics = ", ".join(self.topics)
        return " ".join(p for p in (self.caption, tags, f"Topics: {topics}" if topics else "") if p)


class PostPatch(_Model):
    caption: Annotated[str, Field(max_length=4000)] | None = None
    hashtags: list[Tag] | None = None
    topics: list[Tag] | None = Field(None, max_length=16)
    category: Tag | None = None
    sensitive: bool | None = None
    min_age: int | None = Field(None, ge=0, le=99)
    allowed_regions: list[RegionCode] | None = None
    blocked_regions: list[RegionCode] | None = None
    status: PostStatus | None = None
    media_vector: list[float] | None = None


class Edge(_Model):
    src: ExternalId
    dst: ExternalId
    kind: EdgeKind
    created_at: float = Field(default_factory=now)

    @model_validator(mode="after")
    def _not_self(self) -> Edge:
        if self.src == self.dst:
            raise ValueError("dst: an account cannot follow, block or mute itself")
        return self


class Report(_Model):
    reporter_id: ExternalId
    post_id: ExternalId
    reason: Annotated[str, Field(max_length=200)] = "unspecified"
    created_at: float = Field(default_factory=now)


POSITIVE_KINDS = frozenset(
    {EventKind.LIKE, EventKind.COMMENT, EventKind.SHARE, EventKind.SAVE, EventKind.FOLLOW}
)
NEGATIVE_KINDS = frozenset({EventKind.SKIP, EventKind.NOT_INTERESTED, EventKind.HIDE, EventKind.REPORT})


class Event(_Model):
    """One interaction. `event_id` is the client's idempotency key: sending it twice stores it once."""

    event_id: ExternalId
    user_id: ExternalId
    kind: EventKind
    post_id: ExternalId | None = Field(None, description="Required for every kind except follow.")
    target_user_id: ExternalId | None = Field(None, description="For follow: the followed account.")
    ts: float = Field(default_factory=now)
    watch_ms: int | None = Field(None, ge=0, le=24 * 3600 * 1000)
    duration_ms: int | None = Field(None, gt=0, le=24 * 3600 * 1000)
    surface: Surface | None = None
    request_id: Annotated[str, Field(max_length=64)] | None = None
    position: int | None = Field(None, ge=0, le=100_000)

    @model_validator(mode="after")
    def _shape(self) -> Event:
        if self.kind is EventKind.FOLLOW:
            if self.post_id is None and self.target_user_id is None:
                raise ValueError("follow events need post_id or target_user_id")
        elif self.post_id is None:
            raise ValueError(f"post_id is required for {self.kind.value} events")
        if self.kind is EventKind.VIEW and self.watch_ms is None:
            raise ValueError("view events need watch_ms")
        return self

    @property
    def watch_ratio(self) -> float | None:
        if self.watch_ms is None or not self.duration_ms:
            return None
        return self.watch_ms / self.duration_ms


class FeedRequest(_Model):
    user_id: ExternalId
    surface: Surface = Surface.REELS
    page_size: int = Field(10, ge=1, le=100)
    cursor: str | None = None
    explain: bool = False
