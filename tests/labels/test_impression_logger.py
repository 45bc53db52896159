from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from reelrank.labels.impression_logger import ImpressionLogger
from reelrank.state.records.base import ImpressionRecord


class FakeStore:
    def __init__(self) -> None:
        self.rows: list[ImpressionRecord] = []
        self.fail = False

    def append_impressions(self, impressions: Sequence[ImpressionRecord]) -> None:
        if self.fail:
            raise OSError("disk gone")
        self.rows.extend(impressions)

    def scan_impressions(self, since_ts: float = 0.0, until_ts: float = float("inf"),
                         batch: int = 50_000) -> Iterator[list[ImpressionRecord]]:
        yield list(self.rows)


def imps(n: int, start: int = 0) -> list[ImpressionRecord]:
    return [ImpressionRecord("r", "u", f"p{i}", float(i), "reels", i) for i in range(start, start + n)]


def test_background_flush_writes_everything_and_close_drains() -> None:
    store = FakeStore()
    lg = ImpressionLogger(store, batch=10, flush_every_s=0.05)  # type: ignore[arg-type]
    lg.start()
    lg.log(imps(25))
    deadline = time.time() + 5
    while len(store.rows) < 25 and time.time() < deadline:
        time.sleep(0.01)
    lg.log(imps(3, 25))
    lg.close()
    assert [r.post_id for r in store.rows] == [f"p{i}" for i in range(28)]


def test_failed_writes_are_kept_and_overflow_is_counted() -> None:
    store = FakeStore()
    dropped: list[int] = []
    lg = ImpressionLogger(store, max_buffer=20, batch=5, on_drop=dropped.append)  # type: ignore[arg-type]
    store.fail = True
    lg.log(imps(15))
    assert lg.flush() == 0 and lg.pending == 15 and lg.failures == 1  # kept for retry, in order
    lg.log(imps(10, 15))  # 25 > 20: the 5 oldest go, and it is said
    assert lg.dropped == 5 and dropped == [5] and lg.health()["dropped"] == 5
    store.fail = False
    assert lg.flush() == 20
    assert [r.post_id for r in store.rows] == [f"p{i}" for i in range(5, 25)]
