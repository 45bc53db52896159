"""`reelrank serve --workers 2` as a real subprocess on PostgreSQL + Redis: both processes answer, a
post created through either is in the feeds both serve, and SIGTERM stops every process (slow: CI runs it)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reelrank.config import Settings
from reelrank.index.ann_index import AnnIndex
from tests.server_mode.cluster import Cluster

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _fresh(url: str, path: str, **params: object) -> httpx.Response:
    """One request on a new connection: the kernel picks which process accepts it."""
    with httpx.Client(base_url=url, timeout=30, headers={"Connection": "close"}) as c:
        r = c.get(path, params=params)  # type: ignore[arg-type]
    r.raise_for_status()
    return r


@pytest.fixture
def cluster(server_settings: Settings, tmp_path: Path) -> Iterator[Cluster]:
    assert server_settings.database_url and server_settings.redis_url
    c = Cluster(tmp_path / "data", server_settings.database_url, server_settings.redis_url,
                server_settings.backends.database_schema, server_settings.backends.redis_prefix)
    try:
        yield c
    finally:
        c.stop()


def test_two_serving_processes_answer_share_writes_and_stop_on_sigterm(cluster: Cluster) -> None:
    url = cluster.start_server(workers=2)
    cluster.wait_ready()
    parent = cluster.procs[0]

    # Both processes answer: fresh connections land on either (the second may still be loading).
    pids: set[int] = set()
    deadline = time.monotonic() + 90
    while len(pids) < 2:
        assert time.monotonic() < deadline, f"only {pids} answered: {cluster.tail()}"
        r = _fresh(url, "/healthz/process")
        assert r.headers["x-reelrank-process"] == str(r.json()["pid"])
        pids.add(r.json()["pid"])
    assert parent.pid not in pids  # uvicorn's supervisor serves nothing itself

    with httpx.Client(base_url=url, timeout=30) as api:
        api.post("/v1/users/batch", json={"users": [{"user_id": "c"}, {"user_id": "v"}]}).raise_for_status()
        api.post("/v1/users/v/follows/c").raise_for_status()
        api.post("/v1/posts/batch", json={"posts": [
            {"post_id": f"p{i}", "creator_id": "c", "caption": f"pasta recipe {i}", "topics": ["cooking"],
             "created_at": time.time()} for i in range(6)]}).raise_for_status()
        api.post("/v1/posts", json={"post_id": "fresh", "creator_id": "c", "caption": "brand new",
                                    "created_at": time.time()}).raise_for_status()

    # Whichever process serves the feed has the new post in it, shortly after.
    served_by: dict[int, bool] = {}
    deadline = time.monotonic() + 10
    while not (len(served_by) == 2 and all(served_by.values())):
        assert time.monotonic() < deadline, served_by
        r = _fresh(url, "/v1/feed", user_id="v", surface="explore", page_size=20)
        pid = int(r.headers["x-reelrank-process"])
        served_by[pid] = served_by.get(pid, False) or "fresh" in {i["post_id"] for i in r.json()["items"]}
    assert set(served_by) == pids

    # SIGTERM to the supervisor: it exits, and so does every serving process (no orphans left behind).
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 0, cluster.tail()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids):
        assert time.monotonic() < deadline, f"orphans: {[p for p in pids if _alive(p)]}"
        time.sleep(0.1)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)
    # the engines were closed on the way out, not killed (closing writes the index snapshot)
    assert AnnIndex.has_snapshot(cluster.data_dir / "index")
