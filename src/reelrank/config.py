"""Typed settings: one object, built once, passed in explicitly.

Every field can be set from the environment with the REELRANK_ prefix (nested with "__"), e.g.
REELRANK_DATA_DIR=/var/lib/reelrank or REELRANK_FEED__PAGE_SIZE=20.
"""

from __future__ import annotations

import os
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
    trending_k: int = Field(10, ge=0, description="Candidates from the trending pool, weighted by topic overlap.")
    exploration_k: int = Field(100, ge=0, description="Candidates outside the user's interests (exploration slots).")
    chosen_topics_k: int = Field(100, ge=0, description="Candidates on topics the user added or boosted.")
    co_engagement_k: int = Field(200, ge=0, description="Candidates engaged with by people who engaged with the "
                                 "viewer's recent posts (co-engagement neighbour lists; 0 turns off the source and the "
                                 "lists' upkeep in the \"features\" consumer group).")
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
    engagement: float = Field(0.1, ge=0.0, description="Weight of the post's 24 h engagement per exposure "
                              "(0.5 = typical post; features/post_counters.py).")
    trending: float = Field(0.3, ge=0.0, description="Added to posts in the trending pool.")
    exploration: float = Field(0.3, ge=0.0, le=1.0, description="Most a young post with no exposures gains, "
                               "so it collects first signals; bounded, it fades with age and exposures.")
    explore_max_age_s: float = Field(3600.0, gt=0, description="Posts younger than this get the exploration boost.")
    explore_exposures: float = Field(50.0, gt=0, description="Exposures (24 h) at which the boost has halved.")


class PolicySettings(BaseModel):
    """How one surface shapes a page once candidates are scored (policy/selectors/)."""

    enabled: bool = Field(True, description="False: the page is the top-k by score (no policy selectors).")
    mmr_lambda: float = Field(0.75, ge=0.0, le=1.0, description="1 = pure relevance, 0 = pure diversity.")
    mmr_pool: int = Field(200, ge=1, description="Top-scored candidates MMR chooses among.")
    creator_spacing: int = Field(3, ge=0, description="No two posts of one creator within this many positions.")
    topic_max_share: float = Field(0.3, gt=0.0, le=1.0, description="Most of a page one primary topic may take.")
    exploration_share: float = Field(0.1, ge=0.0, le=0.5, description="Slots for posts outside the user's interests.")
    trend_share: float = Field(0.1, ge=0.0, le=0.5, description="Slots for the 'trending' source's candidates.")
    fresh_share: float = Field(0.1, ge=0.0, le=0.5, description="Slots for the 'fresh' source (new posts).")


class SurfacePolicies(BaseModel):
    """Page policy per surface: a full-screen Reels stream and the Explore grid differ."""

    reels: PolicySettings = PolicySettings()
    explore: PolicySettings = PolicySettings(mmr_lambda=0.6, creator_spacing=2, topic_max_share=0.25,
                                             exploration_share=0.15, trend_share=0.15)

    def of(self, surface: str) -> PolicySettings:
        return self.explore if surface == "explore" else self.reels


class ControlSettings(BaseModel):
    """How 'Your Algorithm' choices and topic affinity move the score (ranking/topic_preference_scorer.py)."""

    boost_weight: float = Field(0.3, ge=0.0, description="Added to the score of posts on a boosted topic.")
    added_weight: float = Field(0.15, ge=0.0, description="Added to the score of posts on a topic the user added.")
    affinity_weight: float = Field(0.2, ge=0.0, description="Weight of positive topic affinity (tanh-squashed).")
    dislike_weight: float = Field(1.5, ge=0.0, description="Weight of negative affinity ('not interested', 'less').")
    affinity_scale: float = Field(3.0, gt=0.0, description="Affinity at which tanh(affinity / scale) is ~0.76.")
    less_amount: float = Field(4.0, gt=0.0, description="Affinity one 'see less of this topic' takes away.")


class BackendSettings(BaseModel):
    """Server mode (database_url = postgresql://..., redis_url = redis://...): state/factory.py."""

    database_schema: str = Field("reelrank", description="PostgreSQL schema holding the record store.")
    db_pool_size: int = Field(10, ge=1, description="Most PostgreSQL connections one process opens.")
    db_migrate_on_open: bool = Field(True, description="False: refuse to start until `reelrank db upgrade` ran.")
    event_retention_days: float | None = Field(None, gt=0, description="Drop event/impression day partitions "
                                               "older than this (and their idempotency keys); None keeps all.")
    partitions_ahead_days: int = Field(3, ge=0, description="Day partitions created ahead of today.")
    redis_prefix: str = Field("reelrank", description="Prefix of every Redis key (online state and stream).")
    stream_maxlen: int = Field(1_000_000, ge=1, description="Entries the event stream keeps (XADD MAXLEN ~).")
    redis_fail_open: bool = Field(True, description="Serve feeds without online state while Redis is "
                                  "unreachable (reads empty, writes 503; state/online/redis_guard.py).")


class RealtimeSettings(BaseModel):
    """The event stream and its consumers (stream/realtime_layer.py)."""

    drain: Literal["thread", "sync", "external"] = Field(
        "thread", description="thread: consumer threads apply aggregates just after ingest; sync: before the "
        "ingest call returns (deterministic, slower ingest); external: another process (`reelrank worker`) "
        "consumes the stream (server-mode serving processes).")
    consumer_name: str | None = Field(None, description="This process's name in each consumer group; stable "
                                      "names let a restart finish its own pending entries. Default host-pid.")
    batch: int = Field(64, ge=1, description="Stream entries (accepted event batches) per consumer read.")
    block_ms: int = Field(50, ge=1, description="How long a consumer thread's read waits for new entries.")
    claim_idle_ms: int = Field(30_000, ge=1, description="Entries pending this long are taken from dead consumers.")
    replay_on_start: bool = Field(True, description="Rebuild aggregates from the event log at start-up when "
                                  "online state is in-process (Redis state survives restarts).")


class TrendSettings(BaseModel):
    """Trend detection (trends/): engagement velocity against the creator's own per-post baseline."""

    enabled: bool = True
    window_s: float = Field(300.0, gt=0, description="Velocity window (and the baseline's period).")
    bucket_s: float = Field(30.0, gt=0, description="Sketch bucket: the window slides by this much.")
    threshold: float = Field(5.0, gt=0, description="Velocity / baseline at which a post is trending.")
    min_volume: float = Field(20.0, ge=0, description="Engagement units in the window needed, whatever the ratio.")
    min_baseline: float = Field(1.0, gt=0, description="Floor of a creator's baseline (new creators).")
    max_post_age_s: float = Field(48 * 3600.0, gt=0, description="Only posts younger than this can trend.")
    baseline_window_s: float = Field(86400.0, gt=0, description="History the creator baseline is measured over.")
    pool_ttl_s: float = Field(1800.0, gt=0, description="A post stays in the trending pool this long after it "
                              "was last seen above the threshold.")
    pool_max_per_topic: int = Field(200, ge=1)
    sketch_width: int = Field(1 << 17, ge=16, description="Count-min sketch width: overcount <= e / width * N "
                              "(N = engagement units in the window) with probability 1 - exp(-depth).")
    sketch_depth: int = Field(4, ge=1)
    sketch_seed: int = 0
    interest_weight: float = Field(0.7, ge=0, le=1, description="Topic weight of an onboarding interest.")
    global_weight: float = Field(0.1, ge=0, le=1, description="Weight of trending posts on none of the "
                                 "viewer's topics.")


class ModelSettings(BaseModel):
    """Learned retrieval (models/, training/): a two-tower model, used when <data_dir>/models/retrieval
    has a `current` version; without one, retrieval runs on content vectors alone."""

    enabled: bool = Field(True, description="False: never load a model, even if one exists.")
    two_tower_k: int = Field(400, ge=0, description="Candidates from the two-tower ANN source.")
    learned_weight: float = Field(8.0, ge=0.0, description="Weight of the model's cosine in the score "
                                  "(tuned on MovieLens-1M validation: reelrank eval).")
    history_len: int = Field(200, ge=1, description="Recent events read per request for the user tower.")
    check_every_s: float = Field(30.0, gt=0, description="How often serving looks for a new `current` version.")


class ValueWeights(BaseModel):
    """How the ranker's heads combine into one score: value = sum(weight * P(head)) (+ watch weight *
    expected watch ratio). Shares and saves are the strongest positive signals (deliberate, rare),
    likes weaker; 'not interested' and reports are strongly negative. Tune per surface (README)."""

    completion: float = 1.0
    like: float = 1.0
    share: float = 3.0
    save: float = 2.5
    comment: float = 1.5
    follow: float = 2.0
    skip: float = -0.5
    not_interested: float = -8.0
    report: float = -20.0


class RankingSettings(BaseModel):
    """The learned ranking stack (ranking/, training/ranker.py): used when <data_dir>/models/ranker has
    a `current` version; without one, the formula scorer orders candidates as before."""

    enabled: bool = Field(True, description="False: never load a ranker, even if one exists.")
    prerank_k: int = Field(300, ge=1, description="Candidates the pre-ranker keeps for the ranker.")
    deadline_ms: float = Field(25.0, gt=0, description="Ranker deadline. Pool mode: past it the page keeps "
                               "pre-rank order. Inline: a later result is served, with stage status 'late'.")
    inline: bool = Field(True, description="Run the ranker on the request thread (measured faster at 1M posts, "
                         "bench/README.md); False: on a worker thread, cut off at the deadline.")
    attribution_window_s: float = Field(1800.0, gt=0, description="Events this long after an impression answer it.")
    log_impressions: bool = Field(True, description="Log every served page's impressions (training data).")
    backend: Literal["auto", "numpy"] = Field("auto", description="auto: the ranker runs on onnxruntime when "
                                              "installed (extra `onnx`, measured faster), numpy otherwise.")
    reels: ValueWeights = ValueWeights()
    explore: ValueWeights = ValueWeights(completion=0.3, like=1.5, share=3.0, save=3.0)

    def weights(self, surface: str) -> ValueWeights:
        return self.explore if surface == "explore" else self.reels


class FeedSettings(BaseModel):
    page_size: int = Field(10, ge=1, le=100)
    max_page_size: int = Field(100, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELRANK_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(Path("./data"), description="Embedded store: SQLite file, index snapshots.")
    database_url: str | None = Field(None, description="Records store; default sqlite in data_dir. "
                                     "postgresql://... selects PostgreSQL (server mode).")
    redis_url: str | None = Field(None, description="redis://... keeps online state and the event stream in "
                                  "Redis (server mode); default in-process.")
    max_event_batch: int = Field(1000, ge=1, description="Most events one POST /v1/events may carry.")
    max_post_batch: int = Field(1000, ge=1)
    report_threshold: int = Field(5, ge=1, description="Distinct reporters after which a post is hidden from all.")
    source_threads: int = Field(8, ge=1, description="Threads that run candidate sources concurrently.")
    feed_concurrency: int = Field(
        default_factory=lambda: max(os.cpu_count() or 2, 1),
        ge=1, description="Feed pipelines run at once per process (admission control); default: CPU cores.",
    )
    blas_threads: int = Field(
        1, ge=1, description="BLAS threads per serving process. Small per-request matrix products gain nothing "
        "from more, and extra BLAS threads fight the request threads for the cores (halved CPU per request).",
    )
    cursor_secret: str | None = Field(None, description="Signs feed cursors; random per process if unset.")
    encoder: EncoderSettings = EncoderSettings()
    index: IndexSettings = IndexSettings()
    sources: SourceSettings = SourceSettings()
    interest: InterestSettings = InterestSettings()
    score: ScoreWeights = ScoreWeights()
    policy: SurfacePolicies = SurfacePolicies()
    controls: ControlSettings = ControlSettings()
    feed: FeedSettings = FeedSettings()
    backends: BackendSettings = BackendSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    trends: TrendSettings = TrendSettings()
    models: ModelSettings = ModelSettings()
    ranking: RankingSettings = RankingSettings()

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "reelrank.sqlite3"

    @property
    def server_mode(self) -> bool:
        """PostgreSQL records and Redis state + stream: processes share them (serving/workers.py)."""
        return bool(self.redis_url) and bool(self.database_url) and not str(self.database_url).startswith("sqlite")

    @property
    def snapshot_dir(self) -> Path:
        return self.data_dir / "index"
