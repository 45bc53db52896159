"""Everything the funnel knows about one feed request, gathered once before any stage runs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reelrank.domain import Surface, User
from reelrank.features.interest import SessionAction


@dataclass
class FeedContext:
    uid: int
    user: User
    surface: Surface
    page_size: int
    now: float
    session_id: str
    query: np.ndarray | None  # (D,) retrieval query, None for a user with no signal at all
    session: list[SessionAction]
    following: set[int]
    hidden_creators: set[int]  # blocked either way, or muted
    seen: np.ndarray  # (S,) pids seen within the window
    served: np.ndarray  # (P,) pids already served in this session
    interest_topics: set[int] = field(default_factory=set)  # topic codes from onboarding interests
    explain: bool = False

    @property
    def age(self) -> int | None:
        return self.user.age(self.now)
