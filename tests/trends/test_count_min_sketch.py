"""The count-min sketch against exact counts: never under, over by at most eps * N with prob >= 1 - delta."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reelrank.state.online.memory import MemoryOnlineState
from reelrank.trends.count_min_sketch import CountMinSketch
from reelrank.trends.windowed_sketch import WindowedSketch


def zipf_stream(seed: int, n_items: int, total: int) -> tuple[np.ndarray, np.ndarray]:
    """(items, counts) of a skewed stream: a few hot posts, a long tail, like engagement."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(10**9, size=n_items, replace=False)  # arbitrary (sparse) pids
    p = 1.0 / np.arange(1, n_items + 1) ** 1.1
    draws = rng.choice(n_items, size=total, p=p / p.sum())
    return ids, np.bincount(draws, minlength=n_items)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_error_is_within_the_guarantee(seed: int) -> None:
    eps, delta = 0.001, 0.01
    cms = CountMinSketch.for_error(eps, delta, seed=seed)
    assert cms.width == math.ceil(math.e / eps) and cms.depth == math.ceil(math.log(1 / delta))
    assert cms.eps <= eps and cms.delta <= delta
    state = MemoryOnlineState()
    ids, exact = zipf_stream(seed, n_items=20_000, total=300_000)
    stream = np.repeat(ids, exact)
    np.random.default_rng(seed).shuffle(stream)
    for chunk in np.array_split(stream, 30):  # added in batches, as the detector does
        cms.add(state, "s", chunk, np.ones(len(chunk), dtype=np.int64))
    est = cms.query(state, ["s"], ids)
    n = int(exact.sum())
    err = est - exact
    assert (err >= 0).all()  # never undercounts
    over = float((err > eps * n).mean())
    assert over <= delta, f"{over:.4f} of queries over eps*N={eps * n:.0f} (allowed {delta})"
    # Hot items (what trend detection looks at) are nearly exact in relative terms.
    hot = exact >= 1000
    assert hot.any() and (err[hot] / exact[hot]).max() < 0.3


def test_sketches_add_up_and_unseen_items_are_small() -> None:
    cms = CountMinSketch(width=4096, depth=4, seed=3)
    state = MemoryOnlineState()
    cms.add(state, "a", np.array([7, 7, 8]), np.array([1, 2, 5]))
    cms.add(state, "b", np.array([7]), np.array([10]))
    assert cms.query(state, ["a"], np.array([7, 8])).tolist() == [3, 5]
    assert cms.query(state, ["a", "b", "missing"], np.array([7, 8, 9])).tolist() == [13, 5, 0]
    assert cms.nbytes == 4096 * 4 * 4


def test_windowed_sketch_forgets_what_left_the_window() -> None:
    now = 1_800_000_000.0
    state = MemoryOnlineState(clock=lambda: now)
    w = WindowedSketch(state, CountMinSketch(1024, 3), window_s=300.0, bucket_s=30.0)
    items = np.array([1, 2, 3])
    w.add(items, np.array([5, 1, 1]), np.array([now - 10, now - 200, now - 400]), now)  # 400 s ago: dropped
    w.add(np.array([1]), np.array([2]), np.array([now + 50]), now)  # from a fast client clock: counts as now
    assert w.query(items, now).tolist() == [7, 1, 0]
    assert w.query(items, now + 100).tolist() == [7, 0, 0]  # item 2, 300 s old by now, has left the window
    assert w.query(items, now + 290).tolist() == [2, 0, 0]  # and so have the 5 counted 300 s before
    assert w.query(items, now + 600).tolist() == [0, 0, 0]
