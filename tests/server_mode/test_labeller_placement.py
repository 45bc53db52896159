"""The labeller runs in `reelrank worker` only: a server-mode serving process logs impressions but never
labels them; the worker labels what the serving process logged; embedded mode labels in-process."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reelrank.config import Settings
from reelrank.domain import FeedRequest, Post, Surface, User
from reelrank.engine import Engine
from reelrank.labels.label_store import LabelStore
from reelrank.ranking.ranking_features import FEATURES
from reelrank.serving.workers import build_engine
from reelrank.worker import run_worker
from tests.conftest import make_settings


def _wait(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_serving_process_does_not_label_and_the_worker_does(server_settings: Settings) -> None:
    server_settings.ranking.attribution_window_s = 0.5  # impressions are labelled half a second after serving
    labels = server_settings.data_dir / "labels"
    serve = build_engine(server_settings, role="serve")
    try:
        assert serve.labels is None and serve.impressions is not None  # logs impressions, does not label them
        t0 = time.time()
        serve.start_maintenance(every_s=0.05)
        serve.account_writer.put_users([User(user_id="c"), User(user_id="v")])
        serve.post_writer.put([Post(post_id=f"p{i}", creator_id="c", caption=f"pasta recipe {i}",
                                    topics=["cooking"]) for i in range(8)])
        page, _ = serve.feed_service.feed(FeedRequest(user_id="v", page_size=5, surface=Surface.EXPLORE))
        assert page.items
        serve.impressions.flush()  # into PostgreSQL, where the worker reads them
        time.sleep(1.0)  # twenty maintenance steps of the serving process, windows closed
        assert not labels.exists()
        # A worker that labelled up to t0 before (its watermark on disk) starts and labels the page.
        labels.mkdir()
        (labels / "watermark.json").write_text(json.dumps({"watermark": t0}))
        stop = threading.Event()
        worker = threading.Thread(target=run_worker, args=(server_settings, stop),
                                  kwargs={"maintenance_every_s": 0.05}, daemon=True)
        worker.start()
        try:
            _wait(lambda: (got := LabelStore(labels).read(FEATURES)) is not None and len(got.ts) == len(page.items))
        finally:
            stop.set()
            worker.join(timeout=30)
        assert not worker.is_alive()
    finally:
        serve.close()


def test_embedded_engine_labels_in_process(tmp_path: Path) -> None:
    engine = Engine(make_settings(tmp_path / "data"))
    try:
        assert engine.labels is not None
        engine.labels.run_once(now=time.time() + 120)  # a step (a minute) after the engine started
        assert LabelStore(tmp_path / "data" / "labels").watermark() is not None
    finally:
        engine.close()
