"""The feed pipelines, declared per surface. Read this file to see the funnel."""

from __future__ import annotations

from dataclasses import dataclass

from reelrank.config import PolicySettings, Settings
from reelrank.domain import Surface
from reelrank.features.affinity import AffinityFeatures
from reelrank.features.co_engagement import CoEngagement
from reelrank.features.popularity import PopularityFeatures
from reelrank.features.post_counters import PostCounters
from reelrank.index.ann_index import AnnIndex
from reelrank.pipeline.components import Scorer, Selector, Source
from reelrank.pipeline.executor import Pipeline
from reelrank.pipeline.safety import SafetyFilters
from reelrank.policy.filters.blocked_muted_filter import BlockedMutedFilter
from reelrank.policy.filters.content_settings_filter import ContentSettingsFilter
from reelrank.policy.filters.muted_topics_filter import MutedTopicsFilter
from reelrank.policy.filters.not_interested_filter import NotInterestedFilter
from reelrank.policy.filters.private_account_filter import PrivateAccountFilter
from reelrank.policy.filters.region_filter import RegionFilter
from reelrank.policy.filters.removed_posts_filter import RemovedPostsFilter
from reelrank.policy.filters.seen_filter import SeenFilter
from reelrank.policy.filters.surface_filter import SurfaceFilter
from reelrank.policy.selectors.creator_spacing_selector import CreatorSpacingSelector
from reelrank.policy.selectors.mmr_selector import MmrSelector
from reelrank.policy.selectors.slots import source_mask
from reelrank.policy.selectors.source_slot_selector import (
    ExplorationSlotSelector,
    FreshSlotSelector,
    TrendSlotSelector,
)
from reelrank.policy.selectors.topic_quota_selector import TopicQuotaSelector
from reelrank.ranking.formula_scorer import FormulaScorer
from reelrank.ranking.learned_similarity_scorer import LearnedSimilarityScorer
from reelrank.ranking.ranking_features import RankingFeaturesScorer
from reelrank.ranking.ranking_stage import RankerHolder, RankingStage
from reelrank.ranking.topic_preference_scorer import TopicPreferenceScorer
from reelrank.retrieval.ann_source import AnnSource
from reelrank.retrieval.chosen_topics_source import ChosenTopicsSource
from reelrank.retrieval.co_engagement_source import CoEngagementSource
from reelrank.retrieval.exploration_source import ExplorationSource
from reelrank.retrieval.followed_creators_source import FollowedCreatorsSource
from reelrank.retrieval.fresh_posts_source import FreshPostsSource
from reelrank.retrieval.popular_in_region_source import PopularInRegionSource
from reelrank.retrieval.region_overfetch import RegionDenial
from reelrank.retrieval.trending_source import TrendingSource
from reelrank.retrieval.two_tower_source import TwoTowerSource
from reelrank.state.accounts import AccountDirectory
from reelrank.state.catalogue import Catalogue
from reelrank.trends.trending_pool import TrendingPool


@dataclass(frozen=True)
class FunnelDeps:
    settings: Settings
    catalogue: Catalogue
    accounts: AccountDirectory
    index: AnnIndex
    popularity: PopularityFeatures
    # The real-time layer (stream/realtime_layer.py); None leaves its source and score columns out.
    counters: PostCounters | None = None
    trending: TrendingPool | None = None
    affinity: AffinityFeatures | None = None
    ranker: RankerHolder | None = None  # the learned ranking stack; None keeps the formula order
    co_engagement: CoEngagement | None = None  # neighbour lists (real-time layer); None leaves the source out


def build_safety(d: FunnelDeps) -> SafetyFilters:
    """The mandatory filters (pipeline/safety.py): the executor runs them on every source's candidates
    before anything else, and a Pipeline without them is refused."""
    cat = d.catalogue
    return SafetyFilters([
        RemovedPostsFilter(cat),
        BlockedMutedFilter(cat),
        PrivateAccountFilter(cat, d.accounts),
        RegionFilter(cat),
        ContentSettingsFilter(cat),
        MutedTopicsFilter(cat),
        NotInterestedFilter(),
    ])


def build_selectors(policy: PolicySettings, d: FunnelDeps, source_names: list[str]) -> list[Selector]:
    """Page policy, in order: diversity, reserved slots, topic quota, creator spacing (last: it picks
    the final k from the longer list the others leave). Empty when the surface's policy is off."""
    if not policy.enabled:
        return []
    cat = d.catalogue
    return [
        MmrSelector(d.index, policy.mmr_lambda, policy.mmr_pool),
        TrendSlotSelector(source_mask(source_names, "trending"), policy.trend_share),
        FreshSlotSelector(source_mask(source_names, "fresh"), policy.fresh_share),
        ExplorationSlotSelector(source_mask(source_names, "exploration"), policy.exploration_share),
        TopicQuotaSelector(cat, policy.topic_max_share),
        CreatorSpacingSelector(cat, policy.creator_spacing),
    ]


def ranking_scorers(d: FunnelDeps, source_names: list[str]) -> list[Scorer]:
    """Features for the ranker (also logged with impressions), then pre-rank + rank + value model
    (ranking/ranking_stage.py), which changes nothing until a ranker model exists."""
    if d.ranker is None:
        return []
    return [RankingFeaturesScorer(d.catalogue, source_names, d.counters, d.affinity),
            RankingStage(d.ranker, d.settings.ranking, d.settings.controls)]


def build_pipeline(surface: Surface, d: FunnelDeps) -> Pipeline:
    s, cat = d.settings, d.catalogue
    policy = s.policy.of(surface)
    sources: list[Source] = [
        AnnSource(d.index, s.sources.ann_k, overfetch=RegionDenial(cat)),
        FollowedCreatorsSource(cat, s.sources.followed_k, s.sources.followed_per_creator),
        PopularInRegionSource(d.popularity, cat, s.sources.popular_k),
        FreshPostsSource(cat, d.index, s.sources.fresh_k, s.sources.fresh_max_age_s),
        ChosenTopicsSource(cat, d.popularity, s.sources.chosen_topics_k),
    ]
    if s.models.enabled:  # proposes nothing until a model is loaded (models/holder.py)
        sources.append(TwoTowerSource(s.models.two_tower_k))
    if policy.enabled and policy.exploration_share > 0:
        sources.append(ExplorationSource(cat, d.popularity, s.sources.exploration_k))
    if d.trending is not None and d.affinity is not None and s.trends.enabled:
        sources.append(TrendingSource(d.trending, cat, d.affinity.topics, s.sources.trending_k,
                                      s.trends.interest_weight, s.trends.global_weight))
    if d.co_engagement is not None and s.sources.co_engagement_k > 0:
        sources.append(CoEngagementSource(d.co_engagement, s.sources.co_engagement_k))
    return Pipeline(
        name=f"feed:{surface.value}",
        sources=sources,
        safety=build_safety(d),  # removed, blocks/mutes, private, region, age/sensitive, muted topics, never
        filters=[SurfaceFilter(cat), SeenFilter()],
        scorers=[
            # The ANN source's scores are the similarities the formula needs (merge keeps them as src:<bit>).
            FormulaScorer(d.index, d.popularity, cat, s.score, d.counters, d.trending, keep_rates=d.ranker is not None,
                          query_scores=f"src:{next(i for i, src in enumerate(sources) if isinstance(src, AnnSource))}"),
            TopicPreferenceScorer(cat, s.controls),
            LearnedSimilarityScorer(s.models.learned_weight),  # no-op without a model
            *ranking_scorers(d, [src.name for src in sources]),
        ],
        selectors=build_selectors(policy, d, [src.name for src in sources]),
        source_deadline_ms=s.sources.deadline_ms,
    )


def build_pipelines(d: FunnelDeps) -> dict[Surface, Pipeline]:
    return {surface: build_pipeline(surface, d) for surface in Surface}
