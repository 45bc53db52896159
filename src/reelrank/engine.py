"""The composition root: builds every component from Settings, loads state, runs maintenance.

One Engine per process. The HTTP layer (serving/app.py), the CLI and the benchmarks all drive the
engine through its writers (posts, accounts, events) and its feed service.
"""

from __future__ import annotations

import gc
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from reelrank.config import Settings
from reelrank.content.encoder import TextEncoder
from reelrank.content.vectorizer import ContentVectorizer
from reelrank.domain import PostStatus
from reelrank.features.affinity import AffinityFeatures
from reelrank.features.interest import InterestFeatures
from reelrank.features.popularity import PopularityFeatures
from reelrank.features.seen import SeenFeatures
from reelrank.features.user_controls import ControlsReader
from reelrank.index.ann_index import AnnIndex
from reelrank.index.replica_sync import ReplayedPopularity
from reelrank.ingest.account_writer import AccountWriter
from reelrank.ingest.event_writer import EventWriter
from reelrank.ingest.post_writer import PostWriter
from reelrank.labels.impression_logger import ImpressionLogger
from reelrank.labels.label_job import LabelJob
from reelrank.models.holder import ModelHolder
from reelrank.models.post_features import CataloguePostFeatures
from reelrank.models.query import ModelQueries, UserSequences
from reelrank.models.registry import ModelRegistry
from reelrank.pipeline.definitions import FunnelDeps, build_pipelines
from reelrank.pipeline.executor import PipelineExecutor
from reelrank.ranking.ranking_stage import RankerHolder
from reelrank.serving.cursor import CursorCodec
from reelrank.serving.feed_service import FeedService, InterestVectors
from reelrank.serving.metrics import Metrics
from reelrank.state.accounts import AccountDirectory, SocialGraph
from reelrank.state.catalogue import Catalogue
from reelrank.state.factory import open_online_state, open_records, open_stream
from reelrank.state.online.memory import MemoryOnlineState
from reelrank.stream.realtime_layer import RealtimeLayer

log = logging.getLogger(__name__)
REPLAY_LIMIT = 2_000_000  # most recent events replayed into online state on start-up


class Engine:
    def __init__(self, settings: Settings, encoder: TextEncoder | None = None) -> None:
        self.settings = s = settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        threadpool_limits(limits=s.blas_threads, user_api="blas")  # process-wide, see Settings.blas_threads
        self.metrics = Metrics()
        self.records = open_records(s)  # SQLite by default, PostgreSQL for a postgresql:// database_url
        self.vectorizer = ContentVectorizer.from_settings(s.encoder, encoder)
        self.catalogue = Catalogue()
        self.accounts = AccountDirectory()
        self.graph = SocialGraph()
        self.online = open_online_state(s)  # in-process by default, Redis for a redis:// redis_url
        self.index = self._open_index()
        self.interest = InterestFeatures(self.online, self.index, s.encoder.dim, s.interest)
        self.seen = SeenFeatures(self.online, s.interest)
        self.popularity = PopularityFeatures(t0=time.time())
        self.affinity = AffinityFeatures(self.online)
        self.controls = ControlsReader(self.affinity, self.catalogue, s.controls)
        # Event stream + consumers: post counters, creator baselines, trends (stream/realtime_layer.py).
        self.realtime = RealtimeLayer(s, self.online, open_stream(s), self.catalogue)
        self.account_writer = AccountWriter(self.records, self.accounts, self.graph, self.catalogue,
                                            s.report_threshold)
        self.post_writer = PostWriter(self.records, self.catalogue, self.accounts, self.vectorizer, self.index)
        self.event_writer = EventWriter(self.records, self.accounts, self.catalogue, self.account_writer,
                                        self.interest, self.seen, self.popularity, self.affinity,
                                        s.max_event_batch, publish=self.realtime.publish)
        self._pool = ThreadPoolExecutor(max_workers=s.source_threads, thread_name_prefix="source")
        # Ranking stack (ranking/, labels/): served impressions logged off the hot path; the learned ranker
        # orders candidates once <data_dir>/models/ranker has a version (the formula until then).
        self.ranker = RankerHolder(s.data_dir, s.models.check_every_s, s.ranking.backend) if s.ranking.enabled else None
        self.impressions = (ImpressionLogger(self.records, on_drop=self.metrics.impressions_dropped.inc)
                            if s.ranking.log_impressions else None)
        # The labeller runs where the stream consumers run: in-process in embedded mode, in `reelrank worker`
        # in server mode (serving processes leave the stream to workers: drain "external").
        self.labels = (LabelJob(self.records, s.data_dir / "labels", s.ranking.attribution_window_s,
                                on_health=self.metrics.observe_labeller)
                       if s.ranking.log_impressions and s.realtime.drain != "external" else None)
        deps = FunnelDeps(s, self.catalogue, self.accounts, self.index, self.popularity,
                          counters=self.realtime.counters, trending=self.realtime.pool, affinity=self.affinity,
                          ranker=self.ranker, co_engagement=self.realtime.co_engagement)
        secret = (s.cursor_secret or secrets.token_hex(16)).encode()
        executor = PipelineExecutor(self._pool, self.metrics.observe_stage)
        # Learned retrieval: the live two-tower model, swapped in place when a new version is published.
        self.models = ModelHolder(ModelRegistry.for_data_dir(s.data_dir), self.catalogue,
                                  CataloguePostFeatures(self.catalogue, self.accounts, self.index, self.records),
                                  s.index, s.models.check_every_s)
        model_queries = ModelQueries(self.models, UserSequences(self.records, self.catalogue,
                                                                s.models.history_len))
        self.feed_service = FeedService(s, build_pipelines(deps), executor,
                                        self.accounts, self.graph, self.catalogue, self.interest, self.seen,
                                        InterestVectors(self.vectorizer), CursorCodec(secret),
                                        controls=self.controls,
                                        model_queries=model_queries if s.models.enabled else None,
                                        impressions=self.impressions)
        self._stop = threading.Event()
        self._maintenance: threading.Thread | None = None
        self._last_snapshot = time.time()
        self._snapshot_lock = threading.Lock()
        self._load()
        gc.freeze()  # the loaded catalogue is long-lived: keep it out of every later GC pass
        if s.models.enabled:
            self.models.reload()  # imports torch only if a model version exists
        self.realtime.start()  # consumer threads (unless settings.realtime.drain == "sync")
        if self.impressions is not None:
            self.impressions.start()

    # -- start-up ----------------------------------------------------------------------------------
    def _open_index(self) -> AnnIndex:
        snap = self.settings.snapshot_dir
        if (snap / "index.faiss").exists():
            try:
                idx = AnnIndex.load(snap, self.settings.index)
                if idx.dim == self.settings.encoder.dim:
                    return idx
                log.warning("index snapshot has dim %d, settings say %d: rebuilding", idx.dim,
                            self.settings.encoder.dim)
            except Exception:  # a damaged snapshot costs a rebuild from stored vectors, never a failed start
                log.exception("could not load the index snapshot; rebuilding from stored vectors")
        return AnnIndex(self.settings.encoder.dim, self.settings.index)

    def _load(self) -> None:
        for batch in self.records.scan_users():
            for rec in batch:
                self.accounts.upsert(rec.uid, rec.user)
        for edges in self.records.scan_edges():
            for e in edges:
                self.graph.add(e.src_uid, e.dst_uid, e.kind)
        self._load_posts()
        self._replay_events()
        self.metrics.catalogue_size.set(len(self.catalogue))
        self.metrics.index_size.set(len(self.index))

    def _load_posts(self) -> None:
        total = self.records.count_posts()
        in_index = self.index.max_pid
        bar = tqdm(total=total, desc="loading catalogue", unit="post", disable=total < 50_000)
        for rows in self.records.scan_posts():
            self.catalogue.upsert(rows)
            # Posts newer than the snapshot go into the index from their stored vectors: no re-encoding.
            todo = [(r.pid, r.vector) for r in rows
                    if r.pid > in_index and r.status is PostStatus.ACTIVE and r.vector is not None]
            if todo:
                self.index.add(np.asarray([p for p, _ in todo], dtype=np.int64), np.stack([v for _, v in todo]))
            gone = [r.pid for r in rows if r.status is not PostStatus.ACTIVE and r.pid in self.index]
            if gone:
                self.index.remove(np.asarray(gone, dtype=np.int64))
            bar.update(len(rows))
        bar.close()
        reports: dict[int, int] = {}
        for reporter_uid, pid in self.records.scan_reports():
            self.seen.mark_seen({reporter_uid: {pid: float("inf")}})
            reports[pid] = reports.get(pid, 0) + 1
        for pid, n in reports.items():  # past the threshold (perhaps lowered since): hidden from everyone
            if n >= self.settings.report_threshold:
                self.catalogue.set_active(pid, False)

    def _replay_events(self) -> None:
        since = time.time() - max(self.settings.interest.seen_window_s, self.settings.interest.half_life_s)
        n = 0
        # Aggregates (counters, baselines, trends) are rebuilt only when they died with the process.
        aggregates = self.settings.realtime.replay_on_start and isinstance(self.online, MemoryOnlineState)
        # Online state in Redis outlives the process: replaying events into it would count them again
        # (interest, sessions, affinity). Only in-process popularity is rebuilt (index/replica.py).
        persistent = not isinstance(self.online, MemoryOnlineState)
        # Remembers what it folded: the replica's stream follower must not fold those events again.
        self.replayed = (ReplayedPopularity(self.popularity, self.accounts, keep_keys=self.settings.server_mode)
                         if persistent else None)
        for events in self.records.scan_events(since_ts=since):
            resolved = []
            for e in events:
                uid = self.accounts.uid_of.get(e.user_id)
                pid = self.catalogue.pid_of.get(e.post_id, 0) if e.post_id else 0
                if uid is not None and (pid or e.post_id is None):
                    resolved.append((e, uid, pid))
            if self.replayed is not None:
                self.replayed.add(resolved)
            else:
                self.event_writer.apply(resolved, replay=True)
            if aggregates:
                self.realtime.replay(resolved)
            n += len(events)
            if n >= REPLAY_LIMIT:
                break

    # -- lifecycle ---------------------------------------------------------------------------------
    def start_maintenance(self, every_s: float = 5.0) -> None:
        if self._maintenance is not None:
            return
        self._maintenance = threading.Thread(target=self._maintain, args=(every_s,), daemon=True,
                                             name="maintenance")
        self._maintenance.start()

    def _maintain(self, every_s: float) -> None:
        """Each task on its own: one that keeps failing (e.g. labelling on a full disk) must not stop
        the others (the index snapshots that serving processes start from)."""
        while not self._stop.wait(every_s):
            for name, task in self._maintenance_tasks():
                try:
                    task()
                except Exception:
                    log.exception("maintenance step %r failed", name)

    def _maintenance_tasks(self) -> list[tuple[str, Callable[[], object]]]:
        tasks: list[tuple[str, Callable[[], object]]] = [
            ("sweep", self.online.sweep),
            ("records", self.records.maintain),  # rate-limited inside: partitions ahead, retention
        ]
        if self.settings.models.enabled:
            tasks.append(("models", self.models.maintain))  # new model version? new posts to place in its space?
        if self.labels is not None:
            tasks.append(("labels", self.labels.run_once))  # label impressions whose attribution window closed
        tasks += [("gauges", self._update_gauges), ("snapshot", self._snapshot_if_due)]
        return tasks

    def _update_gauges(self) -> None:
        self.metrics.catalogue_size.set(len(self.catalogue))
        self.metrics.index_size.set(len(self.index))

    def _snapshot_if_due(self) -> None:
        period = self.settings.index.snapshot_every_s
        if period > 0 and time.time() - self._last_snapshot >= period:
            self.snapshot()

    def snapshot(self) -> Path:
        with self._snapshot_lock:
            self.index.save(self.settings.snapshot_dir)
            self._last_snapshot = time.time()
        return self.settings.snapshot_dir

    def close(self) -> None:
        self._stop.set()
        self.realtime.close()
        if self.impressions is not None:
            self.impressions.close()  # flush what is buffered before the store closes
        if self._maintenance is not None:
            self._maintenance.join(timeout=10)
        try:
            self.snapshot()
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.records.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

