"""AnnIndex: correctness against brute force, exclusion of removed/replaced posts, persistence, threads."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from reelrank.config import IndexSettings
from reelrank.index.ann_index import AnnIndex

D = 64


def unit(rng: np.random.Generator, n: int, d: int = D) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)  # (n, d)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


def build(rng: np.random.Generator, n: int = 2000, d: int = D) -> tuple[AnnIndex, np.ndarray, np.ndarray]:
    x = unit(rng, n, d)
    pids = rng.permutation(np.arange(1, n + 1, dtype=np.int64))  # arrive in any order
    idx = AnnIndex(d, IndexSettings())
    idx.add(pids, x)
    return idx, pids, x


def storage_address(idx: AnnIndex) -> tuple[int, int]:
    """Addresses of FAISS's vector storage and HNSW link table (they change when a buffer reallocates)."""
    import faiss

    with idx._lock.read():
        links = idx._index.hnsw.neighbors
        return (int(idx._matrix_locked().__array_interface__["data"][0]),
                int(faiss.rev_swig_ptr(links.data(), 1).__array_interface__["data"][0]))


def test_add_and_search_returns_nearest(rng: np.random.Generator) -> None:
    idx, pids, x = build(rng)
    assert len(idx) == 2000 and idx.max_pid == 2000 and int(pids[5]) in idx and 0 not in idx
    got, scores = idx.search(x[5], 10)
    assert got.dtype == np.int64 and scores.dtype == np.float32 and got.shape == (10,)
    assert got[0] == pids[5] and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.diff(scores) <= 1e-6)  # best first
    ex_p, ex_s = idx.exact_search(x[5], 10)
    assert ex_p[0] == pids[5]
    # Scores are inner products of the stored vectors.
    np.testing.assert_allclose(scores, idx.vectors(got) @ x[5], atol=1e-5)
    np.testing.assert_allclose(ex_s, idx.vectors(ex_p) @ x[5], atol=1e-5)


def recall_at(idx: AnnIndex, queries: np.ndarray, k: int) -> float:
    hp, _ = idx.search(queries, k)
    ep, _ = idx.exact_search(queries, k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(hp, ep, strict=True)]))


@pytest.mark.parametrize(("d", "ef_search"), [(64, 128), (384, 256)])
def test_recall_at_10_vs_exact(rng: np.random.Generator, d: int, ef_search: int) -> None:
    """Isotropic random vectors are HNSW's worst case; at 384-d the default ef_search=128 gives ~0.94-0.95
    (real embeddings are clustered and do far better, see bench/bench_ann.py), so 384-d uses ef 256."""
    x = unit(rng, 5000, d)
    idx = AnnIndex(d, IndexSettings(ef_search=ef_search))
    idx.add(rng.permutation(np.arange(1, 5001)), x)
    assert recall_at(idx, unit(rng, 200, d), 10) >= 0.95


def test_recall_large_k_uses_ef_at_least_k(rng: np.random.Generator) -> None:
    idx, _, _ = build(rng, n=5000, d=384)
    assert recall_at(idx, unit(rng, 20, 384), 300) >= 0.95  # efSearch = max(ef_search, k)


def test_batch_search_shapes_and_padding(rng: np.random.Generator) -> None:
    empty = AnnIndex(D, IndexSettings())
    p, s = empty.search(unit(rng, 1)[0], 5)
    assert p.shape == (0,) and s.shape == (0,)
    assert empty.exact_search(unit(rng, 1)[0], 5)[0].shape == (0,)
    idx = AnnIndex(D, IndexSettings())
    x = unit(rng, 3)
    idx.add(np.array([10, 20, 30]), x)
    p, _ = idx.search(x[0], 10)
    assert p.shape == (3,) and set(p) == {10, 20, 30}
    p2, _ = idx.search(x, 10)
    assert p2.shape == (3, 3) and list(p2[:, 0]) == [10, 20, 30]
    idx.remove([20])
    p3, _ = idx.search(x, 10)
    assert p3.shape == (3, 2) and 20 not in p3
    with pytest.raises(ValueError):
        idx.search(np.zeros(D + 1, np.float32), 3)


def test_removed_posts_never_come_back(rng: np.random.Generator) -> None:
    idx, pids, x = build(rng)
    gone = pids[:500]
    assert idx.remove(gone) == 500
    assert idx.remove(np.append(gone[:3], [99_999, 0])) == 0  # idempotent; unknown ids ignored
    assert len(idx) == 1500 and idx.n_dead == 500 and int(gone[0]) not in idx
    gone_set = set(gone.tolist())
    hp, _ = idx.search(x[:500], 50)  # queries sit exactly on removed vectors
    assert not gone_set & set(hp.ravel().tolist())
    ep, _ = idx.exact_search(x[:500], 50)
    assert not gone_set & set(ep.ravel().tolist())
    all_p, _ = idx.search(x[0], 5000)
    assert len(all_p) <= 1500 and not gone_set & set(all_p.tolist())
    assert set(idx.live_pids().tolist()) == set(pids[500:].tolist())
    with pytest.raises(KeyError):
        idx.vectors(gone[:2], strict=True)
    # Re-adding a removed post brings it back (a post restored by moderation).
    idx.add(gone[:1], x[:1])
    assert idx.search(x[0], 1)[0][0] == gone[0]


def test_selector_is_cached_between_queries(rng: np.random.Generator) -> None:
    idx, pids, x = build(rng, n=300)
    idx.search(x[0], 5)
    assert idx._selector is None  # nothing excluded: no selector passed
    idx.remove(pids[:3])
    idx.search(x[0], 5)
    sel = idx._selector
    idx.search(x[1], 5)
    assert sel is not None and idx._selector is sel
    idx.remove(pids[3:4])
    idx.search(x[0], 5)
    assert idx._selector is not sel


def test_readd_replaces_vector(rng: np.random.Generator) -> None:
    idx, pids, x = build(rng)
    pid = int(pids[7])
    new = unit(rng, 1)[0]
    idx.add(np.array([pid]), new[None])
    assert len(idx) == 2000 and idx.ntotal == 2001 and idx.n_dead == 1
    np.testing.assert_allclose(idx.vectors([pid])[0], new, atol=1e-6)
    got, scores = idx.search(new, 1)
    assert got[0] == pid and scores[0] == pytest.approx(1.0, abs=1e-5)
    # The old vector is gone: querying it no longer finds the pid at similarity 1.
    got, scores = idx.search(x[7], 5)
    assert pid not in got[scores > 0.99]
    ep, es = idx.exact_search(x[7], 2000)
    assert list(ep).count(pid) == 1 and es[list(ep).index(pid)] == pytest.approx(float(new @ x[7]), abs=1e-5)


def test_readd_with_unchanged_vector_is_a_noop(rng: np.random.Generator) -> None:
    """A status-only edit re-puts the same vector: no dead entry should pile up in the graph."""
    idx, pids, x = build(rng, n=100)
    order = np.argsort(pids)
    idx.add(pids[order][:10], x[order][:10])  # all unchanged
    assert idx.ntotal == 100 and idx.n_dead == 0
    changed = x[order][:10].copy()
    changed[3] = unit(rng, 1)[0]
    idx.add(pids[order][:10], changed)  # one changed: only it is re-inserted
    assert idx.ntotal == 101 and idx.n_dead == 1 and len(idx) == 100
    np.testing.assert_array_equal(idx.vectors(pids[order][:10]), changed)


def test_duplicate_pids_in_one_batch_last_wins(rng: np.random.Generator) -> None:
    idx = AnnIndex(D, IndexSettings())
    x = unit(rng, 3)
    idx.add(np.array([5, 9, 5]), x)
    assert len(idx) == 2 and idx.ntotal == 2
    np.testing.assert_allclose(idx.vectors([5, 9]), x[[2, 1]], atol=1e-6)
    with pytest.raises(ValueError):
        idx.add(np.array([0]), x[:1])
    with pytest.raises(ValueError):
        idx.add(np.array([1, 2]), x[:1])


def test_vectors_returns_the_right_rows(rng: np.random.Generator) -> None:
    idx, pids, x = build(rng)
    order = np.argsort(pids)
    by_pid = x[order]  # row p-1 is pid p's vector
    ask = rng.integers(1, 2001, size=1000)
    np.testing.assert_array_equal(idx.vectors(ask), by_pid[ask - 1])
    out = idx.vectors(np.array([3, 123_456, -1, 4]))  # missing pids -> zero rows
    np.testing.assert_array_equal(out[[0, 3]], by_pid[[2, 3]])
    assert not out[[1, 2]].any()
    assert idx.vectors([]).shape == (0, D)
    with pytest.raises(KeyError):
        idx.vectors([123_456], strict=True)


def test_out_of_order_and_sparse_pids(rng: np.random.Generator) -> None:
    idx = AnnIndex(D, IndexSettings())
    x = unit(rng, 4)
    idx.add(np.array([1_000_000, 3]), x[:2])
    idx.add(np.array([2, 50]), x[2:])
    for pid, row in zip([1_000_000, 3, 2, 50], range(4), strict=True):
        assert idx.search(x[row], 1)[0][0] == pid
    assert idx.max_pid == 1_000_000 and len(idx) == 4


def test_save_load_roundtrip_then_continue_adding(tmp_path: Path, rng: np.random.Generator) -> None:
    idx, pids, x = build(rng)
    idx.remove(pids[:10])
    idx.add(pids[10:11], x[20:21])  # an edit
    q = unit(rng, 50)
    before = idx.search(q, 20)
    path = idx.save(tmp_path / "snap")
    assert path.name == "index.faiss" and AnnIndex.has_snapshot(tmp_path / "snap")
    assert sorted(p.name for p in (tmp_path / "snap").iterdir()) == ["index.faiss", "index.npz"]

    loaded = AnnIndex.load(tmp_path / "snap", IndexSettings())
    assert len(loaded) == len(idx) and loaded.max_pid == 2000 and loaded.n_dead == 11
    assert loaded.saved_at is not None and loaded.capacity > loaded.ntotal  # headroom for live inserts
    after = loaded.search(q, 20)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_allclose(after[1], before[1], atol=1e-6)
    np.testing.assert_array_equal(loaded.vectors(pids[10:200]), idx.vectors(pids[10:200]))
    assert not set(pids[:10].tolist()) & set(loaded.search(x[:10], 10)[0].ravel().tolist())
    # Continue: posts created after the snapshot (pid > max_pid), an edit and a removal.
    extra = unit(rng, 5)
    loaded.add(np.arange(2001, 2006), extra)
    loaded.add(pids[11:12], extra[:1])
    loaded.remove(pids[12:13])
    assert loaded.search(extra[3], 1)[0][0] == 2004 and len(loaded) == 1994
    assert int(pids[12]) not in loaded and int(pids[11]) in loaded
    # Saving over an existing snapshot replaces it.
    loaded.save(tmp_path / "snap")
    again = AnnIndex.load(tmp_path / "snap", IndexSettings())
    assert len(again) == 1994 and again.max_pid == 2005


def test_interrupted_save_is_rolled_back_or_forward(tmp_path: Path, rng: np.random.Generator) -> None:
    snap = tmp_path / "snap"
    idx, _, _ = build(rng, n=200)
    idx.save(snap)
    # Crash before the commit marker: half-written new files are discarded, the old snapshot loads.
    (snap / "index.faiss.new").write_bytes(b"garbage")
    (snap / "index.npz.new").write_bytes(b"garbage")
    assert len(AnnIndex.load(snap, IndexSettings())) == 200
    assert not (snap / "index.faiss.new").exists()
    # Crash after the commit marker, between the two renames: the load finishes the commit.
    idx.add(np.array([500]), unit(rng, 1))
    idx.save(tmp_path / "next")
    os.replace(tmp_path / "next" / "index.faiss", snap / "index.faiss")  # first rename done
    os.replace(tmp_path / "next" / "index.npz", snap / "index.npz.new")  # second still pending
    (snap / "index.commit").write_text(json.dumps({"ntotal": 201}))
    loaded = AnnIndex.load(snap, IndexSettings())
    assert len(loaded) == 201 and 500 in loaded and not (snap / "index.commit").exists()


def test_reserve_keeps_storage_in_place(rng: np.random.Generator) -> None:
    idx = AnnIndex(D, IndexSettings(), capacity=3000)
    assert idx.capacity == 3000
    idx.add(np.arange(1, 11), unit(rng, 10))
    addr = storage_address(idx)
    for pid in range(11, 2500):  # single online inserts within capacity never reallocate
        idx.add(np.array([pid]), unit(rng, 1))
    assert storage_address(idx) == addr and idx.capacity == 3000
    idx.add(np.arange(2500, 3200), unit(rng, 700))  # past capacity: grows with headroom
    assert idx.capacity >= 3199 + 4096
    got = idx.vectors(np.arange(1, 3200))
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)  # data survived the growth


def test_concurrent_adds_and_searches(rng: np.random.Generator) -> None:
    idx, _, _ = build(rng, n=1000)
    new = unit(rng, 1500)
    queries = unit(rng, 200)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(0, 1500, 10):
                idx.add(np.arange(1001 + i, 1011 + i), new[i : i + 10])
                if i % 100 == 0:
                    idx.remove(np.array([1001 + i]))
        except BaseException as e:  # pragma: no cover - surfaced below
            errors.append(e)

    def reader() -> None:
        try:
            for _ in range(3):
                for q in queries:
                    p, _ = idx.search(q, 20)
                    assert len(p) == 20 and np.all(p >= 1)
                idx.vectors(np.arange(1, 1500))
        except BaseException as e:  # pragma: no cover - surfaced below
            errors.append(e)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(idx) == 2500 - 15
    removed = {1001 + i for i in range(0, 1500, 100)}
    assert not removed & set(idx.search(new[:200], 50)[0].ravel().tolist())


def test_bulk_add_in_chunks_matches_exact(rng: np.random.Generator) -> None:
    n = 20_000  # two locked chunks
    x = unit(rng, n, 16)
    idx = AnnIndex(16, IndexSettings())
    idx.add(np.arange(1, n + 1), x)
    assert len(idx) == n and idx.capacity >= n
    np.testing.assert_array_equal(idx.vectors([1, n // 2, n]), x[[0, n // 2 - 1, n - 1]])
    hp, _ = idx.search(x[:50], 10)
    assert np.all(hp[:, 0] == np.arange(1, 51))
