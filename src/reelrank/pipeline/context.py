"""Everything the funnel knows about one feed request, gathered once before any stage runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from reelrank.domain import Surface, User
from reelrank.features.interest import SessionAction

if TYPE_CHECKING:
    from reelrank.models.query import ModelQuery


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
    # 'Your Algorithm' (features/user_controls.py): topic codes, and the learned topic affinity with the
    # user's own adjustments applied (negative = pushed away by "not interested" / "see less").
    topic_affinity: dict[int, float] = field(default_factory=dict)
    muted_topics: set[int] = field(default_factory=set)
    boosted_topics: set[int] = field(default_factory=set)
    added_topics: set[int] = field(default_factory=set)
    never: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (H,) pids: never again
    # Learned retrieval (models/query.py): the live model's user vector and index; None without a model.
    model_query: ModelQuery | None = None

    @property
    def age(self) -> int | None:
        return self.user.age(self.now)
