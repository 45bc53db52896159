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
