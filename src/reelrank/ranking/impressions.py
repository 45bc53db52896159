"""Impression records of a served page: sources, each stage's scores (the ranker's features, the
pre-rank and head predictions), model versions and the experiment bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from reelrank.labels.labeller import HEADS
from reelrank.ranking.ranking_features import logged_features
from reelrank.state.records.base import ImpressionRecord

if TYPE_CHECKING:
    from reelrank.pipeline.executor import Pipeline, PipelineResult
    from reelrank.serving.feed_service import FeedPage

STAGE_COLUMNS = ("score", "prerank", "value", *(f"p:{h}" for h in (*HEADS, "watch")))


def bucket_of(result: PipelineResult) -> str:
    """'ranker' when the learned stack ordered the page (a late inline result too), 'degraded' when it
    fell back, else 'formula'."""
    if any(d.startswith("score:ranker:") and d != "score:ranker:late" for d in result.trace.degraded):
        return "degraded"
    return "ranker" if "value" in result.cands.columns else "formula"


def impressions_of(page: FeedPage, pipe: Pipeline, result: PipelineResult, now: float) -> list[ImpressionRecord]:
    cands, cols = result.cands, result.cands.columns
    bucket = bucket_of(result)
    ver = cols.get("ranker_version")
    models = {"ranker": f"v{int(ver[0]):04d}"} if ver is not None and len(ver) else {}
    out = []
    for pos, idx in enumerate(result.page):
        i = int(idx)
        scores = logged_features(cols, i)
        for name in STAGE_COLUMNS:
            col = cols.get(name)
            if col is not None and not np.isnan(col[i]):
                scores[name] = round(float(col[i]), 5)
        out.append(ImpressionRecord(
            request_id=page.request_id, user_id=page.user_id, post_id=page.items[pos]["post_id"], ts=now,
            surface=page.surface.value, position=pos, sources=tuple(pipe.source_names(int(cands.sources[i]))),
            scores=scores, model_versions=models, bucket=bucket))
    return out
