"""Typed settings: one object, built once, passed in explicitly.

Every field can be set from the environment with the REELRANK_ prefix (nested with "__"), e.g.
REELRANK_DATA_DIR=/var/lib/reelrank or REELRANK_FEED__PAGE_SIZE=20.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EncoderSettings(BaseModel):
    kind: Literal["minilm", "hashing"] = Field(
        "minilm", description="minilm: all-MiniLM-L6-v2 (real, offline); hashing: deterministic stand-in for tests."
    )
    dim: int = Field(384, description="Vector size; must match the encoder (384 for MiniLM).")
    text_weight: float = Field(1.0, ge=0.0, description="Weight of the text vector when a media vector is fused in.")
    media_weight: float = Field(1.0, ge=0.0, description="Weight of the platform's media vector.")
    batch_size: int = Field(64, ge=1)


class IndexSettings(BaseModel):
    hnsw_m: int = Field(32, ge=4, le=128)
    ef_construction: int = Field(80, ge=8)
    ef_search: int = Field(128, ge=8)
    snapshot_every_s: float = Field(300.0, ge=0.0, description="0 disables periodic snapshots.")


class SourceSettings(BaseModel):
    ann_k: int = Field(600, ge=0, description="Candidates from the ANN (interest) source.")
    followed_k: int = Field(200, ge=0)
    followed_per_creator: int = Field(8, ge=1)
    popular_k: int = Field(200, ge=0)
    fresh_k: int = Field(150, ge=0)
    fresh_max_age_s: float = Field(6 * 3600.0, gt=0)
    deadline_ms: float = Field(30.0, gt=0, description="Per-source deadline; a late source is skipped (fail-open).")


class InterestSettings(BaseModel):
    half_life_s: float = Field(7 * 24 * 3600.0, gt=0, description="Decay of the long-term interest vector.")
    session_len: int = Field(20, ge=1, description="Last N actions kept for the session vector.")
    session_ttl_s: float = Field(1800.0, gt=0)
    session_weight: float = Field(0.6, ge=0.0, description="Share of the session vector in the retrieval query.")
    seen_window_s: float = Field(7 * 24 * 3600.0, gt=0, description="A seen post is not served again within this.")
    seen_max: int = Field(5000, ge=10, description="Most recent seen posts remembered per user.")


class ScoreWeights(BaseModel):
    """The transparent first scorer: score = sum(weight * signal)."""

    similarity: float = 1.0
    popularity: float = 0.25
    freshness: float = 0.15
    following: float = 0.2
    fresh_half_life_s: float = 12 * 3600.0


class PolicySettings(BaseModel):
    mmr_lambda: float = Field(0.75, ge=0.0, le=1.0, description="1 = pure relevance, 0 = pure diversity.")
    mmr_pool: int = Field(200, ge=1, description="Top-scored candidates MMR chooses among.")
    creator_spacing: int = Field(3, ge=0, description="No two posts of one creator within this many positions.")


class FeedSettings(BaseModel):
    page_size: int = Field(10, ge=1, le=100)
    max_page_size: int = Field(100, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELRANK_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(Path("./data"), description="Embedded store: SQLite file, index snapshots.")
    database_url: str | None = Field(None, description="Records store; default sqlite in data_dir.")
    max_event_batch: int = Field(1000, ge=1, description="Most events one POST /v1/events may carry.")
    max_post_batch: int = Field(1000, ge=1)
    report_threshold: int = Field(5, ge=1, description="Distinct reporters after which a post is hidden from all.")
    source_threads: int = Field(8, ge=1, description="Threads that run candidate sources concurrently.")
    cursor_secret: str | None = Field(None, description="Signs feed cursors; random per process if unset.")
    encoder: EncoderSettings = EncoderSettings()
    index: IndexSettings = IndexSettings()
    sources: SourceSettings = SourceSettings()
    interest: InterestSettings = InterestSettings()
    score: ScoreWeights = ScoreWeights()
    policy: PolicySettings = PolicySettings()
    feed: FeedSettings = FeedSettings()

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "reelrank.sqlite3"

    @property
    def snapshot_dir(self) -> Path:
        return self.data_dir / "index"
