"""The learned ranking stage: pre-rank every candidate, rank the best `prerank_k` with the multi-task
model under a deadline, and order by the value model.

Runs after the formula and topic-preference scorers (whose columns are its features) and replaces the
`score` column. Degrades, never fails: a ranker error keeps pre-rank order (StageDegraded tells the
executor, which notes it in trace.degraded and the metrics). Without a ranker model (fresh install,
tests) it changes nothing and the formula order stands.

Where the model runs (RankingSettings.inline):
- inline (default): on the request thread. onnxruntime releases the GIL, and handing the batch to a
  pool thread cost a thread wake-up under GIL contention, which was the stage's p99 at 1M posts
  (bench/README.md). An inline call cannot be cut off, so the deadline is checked when it returns: a
  late result is still served (the time is spent already) and the stage reports status "late".
- pool: on a worker thread, waited for up to `deadline_ms`; past it the page keeps pre-rank order
  (status "timeout"). Use it for a model that may hang.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import numpy as np

from reelrank.config import ControlSettings, RankingSettings
from reelrank.labels.labeller import HEADS
from reelrank.models.registry import ModelRegistry
from reelrank.pipeline.candidates import Candidates
from reelrank.pipeline.context import FeedContext
from reelrank.pipeline.trace import StageDegraded
from reelrank.ranking.ranker_model import RankerBundle
from reelrank.ranking.ranking_features import feature_matrix
from reelrank.ranking.value_model import value_of

log = logging.getLogger(__name__)


class RankerHolder:
    """The live ranker bundle; re-reads the registry's `current` at most every `check_every_s`."""

    def __init__(self, data_dir: Path, check_every_s: float = 30.0, backend: str = "auto") -> None:
        self.registry = ModelRegistry.for_data_dir(data_dir, "ranker")
        self._backend = backend
        self._every = check_every_s
        self._checked = float("-inf")
        self.bundle: RankerBundle | None = None

    def get(self) -> RankerBundle | None:
        if time.monotonic() - self._checked >= self._every:
            self._checked = time.monotonic()
            self.reload()
        return self.bundle

    def reload(self) -> None:
        try:
            cur = self.registry.current()
            if cur is not None and (self.bundle is None or self.bundle.version != cur):
                bundle = RankerBundle.load(self.registry.path(cur), cur)
                if self._backend != "numpy":
                    from reelrank.ranking.onnx_ranker import with_onnx

                    bundle = with_onnx(bundle)
                self.bundle = bundle
        except Exception:  # a bad artifact keeps the previous model (or the formula), never a failed page
            log.exception("could not load ranker")


class RankingStage:
    name = "ranker"

    def __init__(self, holder: RankerHolder, settings: RankingSettings, controls: ControlSettings,
                 pool: ThreadPoolExecutor | None = None) -> None:
        """`pool` runs the model off the request thread (pool mode); without one, settings.inline decides."""
        self._holder = holder
        self._s = settings
        self._c = controls
        if pool is None and not settings.inline:
            pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ranker")
        self._pool = pool

    def score(self, ctx: FeedContext, cands: Candidates) -> None:
        bundle = self._holder.get()
        n = len(cands)
        if bundle is None or n == 0:
            return
        cols = cands.columns
        x = feature_matrix(cols, n)  # (N, F), position = 0 at serving
        pre = bundle.preranker.score(x).astype(np.float32)  # (N,)
        cols["prerank"] = pre
        k = self._s.prerank_k
        keep = np.argpartition(-pre, k - 1)[:k] if n > k else np.arange(n)  # (K,) the best k, any order
        controls = self._controls(cols, n)
        late = False
        try:
            if self._pool is None:
                t0 = time.perf_counter()
                preds = bundle.ranker.predict(x[keep])
                late = (time.perf_counter() - t0) * 1000.0 > self._s.deadline_ms
            else:
                fut = self._pool.submit(bundle.ranker.predict, x[keep])
                preds = fut.result(timeout=self._s.deadline_ms / 1000.0)
        except FutureTimeout:
            cols["score"] = pre + controls
            raise StageDegraded("timeout") from None
        except Exception as exc:
            log.warning("ranker failed: %r", exc)
            cols["score"] = pre + controls
            raise StageDegraded("error") from exc
        value = value_of(preds, self._s.weights(ctx.surface.value))  # (K,)
        for head in (*HEADS, "watch"):
            col = np.full(n, np.nan, dtype=np.float32)
            col[keep] = preds[head]
            cols[f"p:{head}"] = col
        # Candidates the pre-ranker cut stay below every ranked one, in pre-rank order.
        span = float(pre.max() - pre.min()) or 1.0
        score = (float(value.min()) - 1.0 + 0.5 * (pre - pre.min()) / span).astype(np.float32)
        score[keep] = value
        cols["value"] = score.copy()
        cols["ranker_version"] = np.full(n, float(bundle.version.lstrip("v") or 0), dtype=np.float32)
        cols["score"] = score + controls
        if late:  # served anyway; the status makes a slow model visible in the trace and the metrics
            raise StageDegraded("late")

    def _controls(self, cols: dict[str, np.ndarray], n: int) -> np.ndarray:
        """The user's explicit 'Your Algorithm' choices still apply on top of the learned value."""
        c = self._c
        zero = np.zeros(n, dtype=np.float32)
        aff = cols.get("topic_affinity", zero)
        return (c.boost_weight * cols.get("topic_boost", zero) + c.added_weight * cols.get("topic_added", zero)
                + c.dislike_weight * np.minimum(aff, 0.0)).astype(np.float32)
