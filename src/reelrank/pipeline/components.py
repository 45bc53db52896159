"""The four kinds of funnel component. Each has a stable `name` that appears in traces and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from reelrank.pipeline.candidates import Candidates, Retrieved
from reelrank.pipeline.context import FeedContext


class Source(Protocol):
    """Proposes candidates. Runs concurrently with the other sources under a deadline."""

    name: str

    def retrieve(self, ctx: FeedContext) -> Retrieved: ...


class Filter(Protocol):
    """Removes candidates that must not be shown, each removal with its reason."""

    name: str

    def apply(self, ctx: FeedContext, cands: Candidates) -> dict[str, np.ndarray]:
        """reason -> (N,) bool mask of the candidates removed for that reason."""
        ...


class Scorer(Protocol):
    """Adds score columns; the last scorer's `score` column orders the candidates."""

    name: str

    def score(self, ctx: FeedContext, cands: Candidates) -> None: ...


@dataclass(frozen=True, slots=True)
class Move:
    """A policy step that moved or dropped a post, for 'why am I seeing this'."""

    pid: int
    action: str  # "moved" | "dropped" | "picked"
    reason: str
    from_rank: int | None = None
    to_rank: int | None = None


@dataclass
class Selection:
    order: np.ndarray  # (K,) indices into the candidates, in page order
    moves: list[Move] = field(default_factory=list)


class Selector(Protocol):
    """Turns a scored ordering into page order (diversity, spacing, slots)."""

    name: str

    def select(self, ctx: FeedContext, cands: Candidates, order: np.ndarray, k: int) -> Selection:
        """`order` ranks candidate indices best first; return at most k of them in page order
        (a selector early in the chain may return more than k to leave room for the next)."""
        ...
