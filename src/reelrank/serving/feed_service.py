"""Answers GET /v1/feed: builds the request context, runs the surface's pipeline, pages the result."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from reelrank.config import Settings
from reelrank.domain import FeedRequest, Surface, User
from reelrank.features.interest import InterestFeatures
from reelrank.features.seen import SeenFeatures
from reelrank.features.user_controls import ControlsReader, controls_view
from reelrank.ingest.errors import UnknownEntity
from reelrank.models.query import ModelQueries
from reelrank.pipeline.components import Move
from reelrank.pipeline.context import FeedContext
from reelrank.pipeline.executor import Pipeline, PipelineExecutor, PipelineResult
from reelrank.pipeline.trace import StageRecord, Stopwatch
from reelrank.ranking.formula_scorer import SIGNALS
from reelrank.ranking.impressions import impressions_of
from reelrank.ranking.topic_preference_scorer import CONTROL_SIGNALS
from reelrank.serving.cursor import Cursor, CursorCodec
from reelrank.serving.explain import explain_item
from reelrank.state.accounts import AccountDirectory, SocialGraph
from reelrank.state.catalogue import Catalogue
from reelrank.state.records.base import ImpressionRecord


class ImpressionSink(Protocol):
    def log(self, impressions: Sequence[ImpressionRecord]) -> None: ...


class TextVectorizer(Protocol):
    def vectorize_text(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class FeedPage:
    request_id: str
    user_id: str
    surface: Surface
    items: list[dict[str, Any]]
    next_cursor: str
    trace: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"request_id": self.request_id, "user_id": self.user_id,
                               "surface": self.surface.value, "items": self.items, "next_cursor": self.next_cursor}
        if self.trace:
            out["trace"] = self.trace
        return out


class InterestVectors:
    """Vectors for onboarding interests ('cooking'), encoded once each and cached."""

    def __init__(self, vectorizer: TextVectorizer) -> None:
        self._vectorizer = vectorizer
        self._cache: dict[str, np.ndarray] = {}

    def query_for(self, interests: list[str]) -> np.ndarray | None:
        if not interests:
            return None
        missing = [t for t in interests if t not in self._cache]
        if missing:
            for t, v in zip(missing, self._vectorizer.vectorize_text(missing), strict=True):
                self._cache[t] = v
        v = np.mean([self._cache[t] for t in interests], axis=0)
        n = float(np.linalg.norm(v))
        return (v / n).astype(np.float32) if n > 0 else None


class FeedService:
    def __init__(self, settings: Settings, pipelines: dict[Surface, Pipeline], executor: PipelineExecutor,
                 accounts: AccountDirectory, graph: SocialGraph, catalogue: Catalogue,
                 interest: InterestFeatures, seen: SeenFeatures, interest_vectors: InterestVectors,
                 cursors: CursorCodec, controls: ControlsReader | None = None,
                 model_queries: ModelQueries | None = None, impressions: ImpressionSink | None = None) -> None:
        self._s = settings
        self._admission = threading.BoundedSemaphore(settings.feed_concurrency)
        self._impressions = impressions  # served impressions, logged off the hot path (labels/)
        self._model_queries = model_queries  # learned retrieval: user tower per request (None: no model)
        self._controls = controls  # learned topic affinity for 'Your Algorithm' (None: controls only)
        self._pipelines = pipelines
        self._executor = executor
        self._accounts = accounts
        self._graph = graph
        self._cat = catalogue
        self._interest = interest
        self._seen = seen
        self._interest_vectors = interest_vectors
        self._cursors = cursors

    def pipeline(self, surface: Surface) -> Pipeline:
        return self._pipelines[surface]

    def context(self, req: FeedRequest, session_id: str, now: float) -> FeedContext:
        got = self._accounts.get(req.user_id)
        if got is None:
            raise UnknownEntity("user", req.user_id)
        uid, user = got
        # Declared interests: onboarding plus topics added in 'Your Algorithm', minus muted ones.
        declared = [t for t in dict.fromkeys([*user.interests, *user.controls.added]) if t not in user.controls.muted]
        query, session = self._interest.query(uid, fallback=self._interest_vectors.query_for(declared))
        topics = {c for c in (self._cat.topics.find(t) for t in declared) if c > 0}
        ctl = controls_view(self._cat, user, self._controls.affinity(uid, user, now) if self._controls else {})
        return FeedContext(
            uid=uid, user=user, surface=req.surface, page_size=req.page_size, now=now, session_id=session_id,
            query=query, session=session, following=set(self._graph.following(uid)),
            hidden_creators=self._graph.hidden_creators(uid), seen=self._seen.seen(uid, now),
            served=self._seen.served(session_id), interest_topics=topics, explain=req.explain,
            topic_affinity=ctl.topic_affinity, muted_topics=ctl.muted, boosted_topics=ctl.boosted,
            added_topics=ctl.added, never=ctl.never,
            model_query=self._model_queries.query(user, session) if self._model_queries else None,
        )

    def feed(self, req: FeedRequest) -> tuple[FeedPage, PipelineResult]:
        now = time.time()
        sw = Stopwatch()
        cursor = (self._cursors.decode(req.cursor, req.user_id) if req.cursor
                  else Cursor(self._cursors.new_session(), 0, req.user_id))
        # Admission control: at most `feed_concurrency` pipelines run at once (about the core count).
        # More would only queue their sources behind each other's in the shared pool and blow the
        # per-source deadlines, silently degrading every page under load.
        with self._admission:
            sw.lap()  # time spent waiting for admission is not the context's
            ctx = self.context(req, cursor.session_id, now)
            context_ms = sw.lap()
            pipe = self._pipelines[req.surface]
            result = self._executor.run(pipe, ctx)
            sw.lap()
        result.trace.stages.insert(0, StageRecord("context", "context", context_ms))
        page_pids = result.cands.pids[result.page]
        self._seen.mark_served(cursor.session_id, [int(p) for p in page_pids], now)
        items = self._items(pipe, ctx, result)
        next_cursor = self._cursors.encode(Cursor(cursor.session_id, cursor.page + 1, req.user_id))
        page = FeedPage(request_id=uuid.uuid4().hex[:16], user_id=req.user_id, surface=req.surface, items=items,
                        next_cursor=next_cursor)
        if self._impressions is not None:
            self._impressions.log(impressions_of(page, pipe, result, now))
        result.trace.add(StageRecord("page", "page", sw.lap(), len(result.page), len(items)))
        if req.explain:
            page.trace = result.trace.as_dict()
        return page, result

    def _items(self, pipe: Pipeline, ctx: FeedContext, result: PipelineResult) -> list[dict[str, Any]]:
        cands, cat = result.cands, self._cat
        moves_by_pid: defaultdict[int, list[Move]] = defaultdict(list)
        for m in result.moves:
            moves_by_pid[m.pid].append(m)
        score = cands.columns.get("score")
        items = []
        for pos, idx in enumerate(result.page):
            pid = int(cands.pids[idx])
            sources = pipe.source_names(int(cands.sources[idx]))
            item: dict[str, Any] = {
                "post_id": cat.post_ids[pid],
                "creator_id": self._accounts.user_id(int(cat.creator[pid])),
                "kind": ("reel", "photo", "carousel")[int(cat.kind[pid])],
                "topics": cat.topic_names(pid),
                "position": pos,
                "score": round(float(score[idx]), 5) if score is not None else 0.0,
                "sources": sources,
            }
            if ctx.explain:
                signals = {k: float(cands.columns[k][idx]) for k in SIGNALS if k in cands.columns}
                controls = {k: float(cands.columns[k][idx]) for k in CONTROL_SIGNALS if k in cands.columns}
                item["explanation"] = explain_item(sources, signals, self._s.score, moves_by_pid.get(pid, []),
                                                   controls=controls, topics=item["topics"])
            items.append(item)
        return items


def user_summary(user: User) -> dict[str, Any]:
    return user.model_dump(mode="json")
