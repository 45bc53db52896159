"""How big and how messy a synthetic world is (see world.py, which generates it)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from reelrank.simulation.topics import TOPIC_NAMES, get_topic

RESTRICTED_CATEGORIES: tuple[str, ...] = ("gambling", "alcohol", "weight_loss")
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """How big and how messy the world is. Defaults make a small world that generates instantly."""

    n_users: int = 1_000  # viewers
    n_creators: int = 200
    n_posts: int = 5_000
    n_topics: int = 20  # the first n_topics of the catalogue, unless `topics` names them
    topics: tuple[str, ...] | None = None
    regions: tuple[str, ...] = ("US", "GB", "IN", "BR", "DE")
    private_creator_share: float = 0.05
    follow_density: float = 0.02  # expected fraction of all creators each viewer follows
    follow_match_share: float = 0.8  # share of follows drawn from the viewer's own tastes
    onboarded_share: float = 0.6  # viewers who picked onboarding interests
    topic_skew: float = 0.6  # Zipf exponent of topic popularity (catalogue order); 0 = uniform
    reel_share: float = 0.6
    photo_share: float = 0.25  # the rest are carousels
    days: float = 30.0  # posts are spread over this many past days
    recent_share: float = 0.03  # posts created within the last hour
    restricted_share: float = 0.01  # posts with a restricted category (gambling, ...)
    sensitive_share: float = 0.02
    region_limited_share: float = 0.02  # posts with allowed_regions or blocked_regions
    media_dim: int = 0  # >0: give posts a topical media_vector of this size
    seed: int = 0
    now: float = field(default_factory=time.time)  # pass it explicitly for byte-identical worlds

    def __post_init__(self) -> None:
        for name in ("n_users", "n_creators", "n_posts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.topics is None and not 1 <= self.n_topics <= len(TOPIC_NAMES):
            raise ValueError(f"n_topics must be between 1 and {len(TOPIC_NAMES)}")
        for t in self.topics or ():
            get_topic(t)
        if not self.regions:
            raise ValueError("regions must not be empty")
        if self.reel_share + self.photo_share > 1:
            raise ValueError("reel_share + photo_share must be <= 1")

    @property
    def topic_names(self) -> tuple[str, ...]:
        return tuple(self.topics) if self.topics else TOPIC_NAMES[: self.n_topics]
