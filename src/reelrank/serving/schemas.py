"""Request and response bodies that are not plain domain models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from reelrank.domain import Event, Post, User


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UsersBatch(_Body):
    users: list[User] = Field(min_length=1)


class PostsBatch(_Body):
    posts: list[Post] = Field(min_length=1)


class EventsBatch(_Body):
    events: list[Event] = Field(min_length=1)


class WriteResult(BaseModel):
    count: int
    ids: list[str]


class IngestResponse(BaseModel):
    accepted: int
    duplicates: int


class ErrorBody(BaseModel):
    error: str
    message: str
    errors: list[dict[str, object]] = Field(default_factory=list)


class TrendingPost(BaseModel):
    post_id: str
    creator_id: str | None
    topics: list[str]
    ratio: float = Field(description="Velocity / the creator's per-post baseline at the last detection.")
    velocity: float | None = Field(description="Engagement units in the detector's window at the last detection "
                                   "(count-min estimate: never below the true count).")
    entered_at: float | None = Field(description="When the post entered the pool (unix seconds).")
    expires_at: float = Field(description="When it leaves the pool unless detected again.")


class TrendingTopic(BaseModel):
    topic: str
    total: int = Field(description="Posts of this topic trending now (before `limit`).")
    posts: list[TrendingPost] = Field(description="Hottest first (by ratio).")


class TrendingResponse(BaseModel):
    ts: float
    enabled: bool = Field(description="Whether trend detection runs on this engine.")
    window_s: float
    threshold: float
    pool_ttl_s: float
    topics: list[TrendingTopic] = Field(description="Topics with posts trending now, most first.")
