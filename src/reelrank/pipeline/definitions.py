"""The feed pipelines, declared per surface. Read this file to see the funnel."""

from __future__ import annotations

from dataclasses import dataclass

from reelrank.config import Settings
from reelrank.domain import Surface
from reelrank.features.popularity import PopularityFeatures
from reelrank.index.ann_index import AnnIndex
from reelrank.pipeline.executor import Pipeline
from reelrank.policy.filters.blocked_muted_filter import BlockedMutedFilter
from reelrank.policy.filters.content_settings_filter import ContentSettingsFilter
from reelrank.policy.filters.private_account_filter import PrivateAccountFilter
from reelrank.policy.filters.region_filter import RegionFilter
from reelrank.policy.filters.removed_posts_filter import RemovedPostsFilter
from reelrank.policy.filters.seen_filter import SeenFilter
from reelrank.policy.filters.surface_filter import SurfaceFilter
from reelrank.policy.selectors.creator_spacing_selector import CreatorSpacingSelector
from reelrank.policy.selectors.mmr_selector import MmrSelector
from reelrank.ranking.formula_scorer import FormulaScorer
from reelrank.retrieval.ann_source import AnnSource
from reelrank.retrieval.followed_creators_source import FollowedCreatorsSource
from reelrank.retrieval.fresh_posts_source import FreshPostsSource
from reelrank.retrieval.popular_in_region_source import PopularInRegionSource
from reelrank.state.accounts import AccountDirectory
from reelrank.state.catalogue import Catalogue


@dataclass(frozen=True)
class FunnelDeps:
    settings: Settings
    catalogue: Catalogue
    accounts: AccountDirectory
    index: AnnIndex
    popularity: PopularityFeatures


def build_pipeline(surface: Surface, d: FunnelDeps) -> Pipeline:
    s, cat = d.settings, d.catalogue
    return Pipeline(
        name=f"feed:{surface.value}",
        sources=[
            AnnSource(d.index, s.sources.ann_k),
            FollowedCreatorsSource(cat, s.sources.followed_k, s.sources.followed_per_creator),
            PopularInRegionSource(d.popularity, cat, s.sources.popular_k),
            FreshPostsSource(cat, d.index, s.sources.fresh_k, s.sources.fresh_max_age_s),
        ],
        # Safety and visibility first: no source can bypass them.
        filters=[
            RemovedPostsFilter(cat),
            BlockedMutedFilter(cat),
            PrivateAccountFilter(cat, d.accounts),
            RegionFilter(cat),
            ContentSettingsFilter(cat),
            SurfaceFilter(cat),
            SeenFilter(),
        ],
        scorers=[FormulaScorer(d.index, d.popularity, cat, s.score)],
        selectors=[
            MmrSelector(d.index, s.policy.mmr_lambda, s.policy.mmr_pool),
            CreatorSpacingSelector(cat, s.policy.creator_spacing),
        ],
        source_deadline_ms=s.sources.deadline_ms,
    )


def build_pipelines(d: FunnelDeps) -> dict[Surface, Pipeline]:
    return {surface: build_pipeline(surface, d) for surface in Surface}
