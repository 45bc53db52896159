"""Region rules at retrieval: the filter holds for every source, and the ANN source over-fetches by
the share of the catalogue the viewer's region may not see, so its pages do not come up short."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from reelrank.domain import Surface, User
from reelrank.pipeline.context import FeedContext
from reelrank.retrieval.ann_source import AnnSource
from reelrank.retrieval.region_overfetch import RegionDenial
from tests.serving.helpers import feed, post, world


class CountingIndex:
    def __init__(self) -> None:
        self.asked: list[int] = []

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.asked.append(k)
        return np.zeros(0, np.int64), np.zeros(0, np.float32)


def test_ann_over_fetches_by_the_denied_share(client: TestClient) -> None:
    world(client, per_topic=10)  # 30 posts
    for i in range(10):  # 10 more that GB may not see, 5 that only GB may see
        post(client, f"no_gb{i}", "c_travel", "travel", blocked_regions=["GB"])
    for i in range(5):
        post(client, f"gb_only{i}", "c_travel", "travel", allowed_regions=["GB"])
    engine = client.app.state.engine  # type: ignore[attr-defined]
    denial = RegionDenial(engine.catalogue)
    assert denial.share("GB") == 10 / 45 and denial.share("US") == 5 / 45
    index = CountingIndex()
    ctx = FeedContext(uid=1, user=User(user_id="x", region="GB"), surface=Surface.REELS, page_size=10, now=0.0,
                      session_id="s", query=np.ones(384, np.float32), session=[], following=set(),
                      hidden_creators=set(), seen=np.zeros(0, np.int64), served=np.zeros(0, np.int64))
    AnnSource(index, 100, overfetch=denial).retrieve(ctx)
    assert index.asked == [129]  # ceil(100 / (1 - 10/45))
    shown = {i["post_id"] for i in feed(client, "bob", page_size=50, surface="explore")["items"]}  # bob is in GB
    assert not any(p.startswith("no_gb") for p in shown) and any(p.startswith("gb_only") for p in shown)
    shown = {i["post_id"] for i in feed(client, "alice", page_size=50, surface="explore")["items"]}  # US
    assert not any(p.startswith("gb_only") for p in shown)
