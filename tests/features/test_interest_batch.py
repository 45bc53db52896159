"""The interest update equals its definition: per user, folding the interactions one by one in time
order (a batch may hold events older than the stored vector), and the session keeps the newest first."""

from __future__ import annotations

import struct

import numpy as np

from reelrank.config import InterestSettings
from reelrank.features.interest import Interaction, InterestFeatures, SessionAction
from reelrank.state.online.memory import MemoryOnlineState

D = 8


class Table:
    def __init__(self, n: int, seed: int) -> None:
        self.v = np.random.default_rng(seed).normal(size=(n, D)).astype(np.float32)

    def vectors(self, pids: np.ndarray) -> np.ndarray:
        return self.v[pids]


def reference(batches: list[list[Interaction]], table: Table,
              half_life_s: float) -> dict[int, tuple[float, np.ndarray]]:
    """The definition: per user, acc <- acc * exp(-lam * dt) + w * v, dt from the latest time so far."""
    lam = np.log(2.0) / half_life_s
    state: dict[int, tuple[float, np.ndarray]] = {}
    for batch in batches:
        for i in sorted(batch, key=lambda x: (x.uid, x.ts)):
            last, acc = state.get(i.uid, (i.ts, np.zeros(D)))
            acc = acc * np.exp(-lam * max(i.ts - last, 0.0)) + i.weight * table.v[i.pid].astype(np.float64)
            state[i.uid] = (max(last, i.ts), acc)
    return state


def test_batch_update_matches_the_sequential_definition() -> None:
    rng = np.random.default_rng(4)
    table = Table(50, seed=1)
    settings = InterestSettings(half_life_s=3600.0, session_len=5)
    state = MemoryOnlineState()
    feats = InterestFeatures(state, table, D, settings)
    batches = []
    for b in range(4):  # later batches hold events older than the stored vectors' time too
        batches.append([Interaction(int(rng.integers(1, 6)), int(rng.integers(0, 50)),
                                    float(rng.choice([1.0, -0.5, 0.3, 1.5])),
                                    1_000.0 + b * 500 + float(rng.normal(0, 900))) for _ in range(40)])
        feats.apply(batches[-1])
    want = reference(batches, table, settings.half_life_s)
    for uid, (last, acc) in want.items():
        raw = state.get(f"u:{uid}:lt")
        assert raw is not None
        assert struct.unpack_from("<d", raw)[0] == last
        np.testing.assert_allclose(np.frombuffer(raw, dtype=np.float64, offset=8), acc, rtol=1e-6, atol=1e-6)
        # the session keeps the newest session_len actions, newest first (time order within a batch)
        last_batch = sorted((i for i in batches[-1] if i.uid == uid), key=lambda i: i.ts)[::-1]
        got = feats.session(uid)
        assert got[: len(last_batch)] == [SessionAction(i.pid, np.float32(i.weight), i.ts)
                                         for i in last_batch][: settings.session_len]


def test_two_processes_updating_one_user_lose_nothing() -> None:
    """Two processes (two InterestFeatures: separate locks) share Redis. B updates the user's long-term
    vector between A's read and A's write: A's compare-and-set finds it changed, re-reads and folds again,
    so the stored vector is the sequential fold of both batches (before: last write won, B's was lost)."""
    from reelrank.state.online.redis import RedisOnlineState
    from tests.state import services

    url = services.require_redis()
    prefix = f"rr-test:{services.RUN_TOKEN}:interest-cas"
    table = Table(20, seed=2)
    settings = InterestSettings(half_life_s=3600.0)
    a_state, b_state = RedisOnlineState(url, prefix), RedisOnlineState(url, prefix)
    try:
        a, b = InterestFeatures(a_state, table, D, settings), InterestFeatures(b_state, table, D, settings)
        first = [Interaction(7, 1, 1.0, 1_000.0)]
        from_b = [Interaction(7, 2, 1.0, 1_100.0)]
        from_a = [Interaction(7, 3, 1.5, 1_200.0)]
        a.apply(first)
        read = a_state.mget
        raced = []

        def mget_then_b_writes(keys: list[str]) -> list[bytes | None]:
            out = read(keys)
            if not raced:  # only A's first read races; its retry reads B's vector
                raced.append(True)
                b.apply(from_b)
            return out

        a_state.mget = mget_then_b_writes  # type: ignore[method-assign]
        a.apply(from_a)
        raw = b_state.get("u:7:lt")
        assert raw is not None and raced
        last, acc = reference([first, from_b, from_a], table, settings.half_life_s)[7]
        assert struct.unpack_from("<d", raw)[0] == last
        np.testing.assert_allclose(np.frombuffer(raw, dtype=np.float64, offset=8), acc, rtol=1e-6, atol=1e-6)
        assert [s.pid for s in a.session(7)] == [3, 2, 1]  # sessions are pushes: never lost
    finally:
        a_state.close()
        b_state.close()
        services.delete_keys(prefix + ":")
