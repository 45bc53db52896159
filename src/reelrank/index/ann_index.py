"""Online approximate nearest-neighbour index over post content vectors (FAISS HNSW, inner product).

Vectors are unit-norm, so inner product = cosine. HNSW cannot delete, so an edited post is
re-inserted under a new internal id and its old entry, like a removed post's, is *excluded*
at search time with an ID selector (a bitmap over internal ids). Dead entries keep their memory
until a rebuild; `n_dead` tells an operator when that is worth doing.

Concurrency: FAISS releases the GIL and HNSW search is read-only, so searches run in parallel
under a shared lock; add/remove/reserve take it exclusively (HNSW add is not safe alongside
search). Writers are preferred, so a stream of searches cannot starve ingest.

Memory growth: FAISS keeps vectors and graph links in std::vectors that double when full; at
1M x 384 that realloc copies ~1.5 GB and stalls one insert for ~1 s. `reserve()` grows them ahead
(resize up then back down keeps std::vector capacity), bulk adds and `load()` leave headroom.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np
from tqdm import tqdm

from reelrank.index.rwlock import RWLock
from reelrank.index.snapshot_files import COMMIT, INDEX_FILE, MAPS_FILE, atomic_write, fsync_dir, has_snapshot, recover

if TYPE_CHECKING:
    from reelrank.config import IndexSettings

log = logging.getLogger(__name__)
# faiss' bundled stubs lack parts of its Python API (SearchParametersHNSW, PyCallbackIOWriter, the
# numpy-array IDSelectorBitmap, HNSW/IndexFlat internals): those are reached through this untyped alias.
_faiss: Any = faiss

_MAX_THREADS = max(1, faiss.omp_get_max_threads())  # captured before any thread lowers its own value
_CHUNK = 16_384  # vectors per locked add; searches interleave between chunks
_PROGRESS_MIN = 50_000  # show a progress bar above this many vectors
_PARALLEL_ADD_MIN = 256  # below this an add runs single-threaded (OpenMP start-up would dominate)


def _grow(arr: np.ndarray, size: int, fill: int | bool) -> np.ndarray:
    """Return `arr` with len >= size (amortised doubling), new slots set to `fill`."""
    if size <= len(arr):
        return arr
    out = np.full(max(size, 2 * len(arr), 1024), fill, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


class AnnIndex:
    """HNSW index keyed by dense post ids (pid >= 1)."""

    def __init__(self, dim: int, settings: IndexSettings, *, capacity: int = 0, headroom: float = 0.25) -> None:
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        self._setup(index, settings, np.empty(0, np.int64), np.empty(0, np.int64), headroom)
        if capacity:
            self.reserve(capacity)

    def _setup(self, index: faiss.IndexHNSWFlat, settings: IndexSettings, pid_of: np.ndarray,
               excluded: np.ndarray, headroom: float) -> None:
        index.hnsw.efConstruction = settings.ef_construction
        index.hnsw.efSearch = settings.ef_search
        self.dim, self.settings, self.headroom = int(index.d), settings, headroom
        self.saved_at: float | None = None  # set by load(): changes after this time are not in the snapshot
        self._index = index
        self._flat: Any = faiss.downcast_index(index.storage)  # IndexFlat holding the raw vectors
        self._lock, self._save_lock, self._sel_lock = RWLock(), threading.Lock(), threading.Lock()
        self._capacity = n = index.ntotal
        self._pid_of = _grow(np.empty(0, np.int64), n, -1)  # internal id -> pid
        self._pid_of[:n] = pid_of
        self._excluded = _grow(np.empty(0, bool), n, False)  # internal id -> excluded?
        self._excluded[excluded] = True
        self._n_excluded = int(self._excluded[:n].sum())
        self._max_pid = int(pid_of.max()) if n else 0
        self._internal_of = _grow(np.empty(0, np.int64), self._max_pid + 1, -1)  # pid -> live internal id
        live = np.flatnonzero(~self._excluded[:n])  # (L,)
        if len(np.unique(pid_of[live])) != len(live):
            raise ValueError("corrupt index maps: a pid has two live entries")
        self._internal_of[pid_of[live]] = live
        self._live = len(live)
        self._selector: faiss.IDSelector | None = None
        self._selector_refs: tuple[object, ...] = ()  # what the selector points into, kept alive
        self._selector_dirty = True

    # ---- sizes -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._live

    def __contains__(self, pid: object) -> bool:
        if not isinstance(pid, int | np.integer):
            return False
        with self._lock.read():
            return 0 <= int(pid) < len(self._internal_of) and self._internal_of[int(pid)] >= 0

    @property
    def max_pid(self) -> int:
        """Largest pid ever added (0 if none): after load(), add the posts created after it."""
        return self._max_pid

    @property
    def ntotal(self) -> int:
        """Entries in the FAISS graph, dead ones included."""
        return int(self._index.ntotal)

    @property
    def n_dead(self) -> int:
        """Replaced or removed entries still in the graph (they cost memory and search effort)."""
        return self._n_excluded

    @property
    def capacity(self) -> int:
        """Entries FAISS storage holds without reallocating (see `reserve`)."""
        return self._capacity

    def live_pids(self) -> np.ndarray:
        with self._lock.read():
            n = self._index.ntotal
            return self._pid_of[:n][~self._excluded[:n]].copy()

    # ---- writes ------------------------------------------------------------------------------

    def reserve(self, capacity: int) -> None:
        """Pre-grow FAISS storage for `capacity` entries so inserts up to it never reallocate."""
        with self._lock.write():
            self._reserve_locked(capacity)

    def _reserve_locked(self, capacity: int) -> None:
        if capacity <= self._capacity:
            return
        t0 = time.perf_counter()
        hnsw: Any = self._index.hnsw
        probas = faiss.vector_to_array(hnsw.assign_probas)  # P(level = l)
        cum = faiss.vector_to_array(hnsw.cum_nneighbor_per_level)  # link slots of a level-l node: cum[l + 1]
        links = float((probas * cum[1 : len(probas) + 1]).sum()) * 1.02
        # resize(big) then resize(current): same contents, but std::vector keeps the larger capacity.
        for vec, size in (
            (self._flat.codes, capacity * self._flat.code_size),
            (hnsw.neighbors, int(capacity * links)),
            (hnsw.levels, capacity),
            (hnsw.offsets, capacity + 1),
        ):
            if getattr(vec, "is_owned", True):  # a memory-mapped index cannot grow in place
                cur = vec.size()
                if size > cur:
                    vec.resize(size)
                    vec.resize(cur)
        self._capacity = capacity
        log.debug("ann index reserved %d entries in %.3fs", capacity, time.perf_counter() - t0)

    def _ensure_capacity_locked(self, needed: int) -> None:
        if needed > self._capacity:
            self._reserve_locked(needed + max(4096, int(needed * self.headroom)))

    def add(self, pids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace: pids (N,) int64 >= 1, vectors (N, D) unit float32. Last duplicate wins."""
        pids = np.asarray(pids, dtype=np.int64).ravel()  # (N,)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)  # (N, D)
        if len(pids) != len(vectors) or (len(pids) and pids.min() < 1) or not np.isfinite(vectors).all():
            raise ValueError(f"need one finite vector per pid >= 1: {len(pids)} pids, {len(vectors)} vectors")
        if not len(pids):
            return
        _, first_rev = np.unique(pids[::-1], return_index=True)
        if len(first_rev) != len(pids):  # keep the last occurrence of each pid, in order
            keep = np.sort(len(pids) - 1 - first_rev)
            pids, vectors = pids[keep], vectors[keep]
        n = len(pids)
        if n >= 1000:  # one up-front reservation instead of repeated doubling copies during the build
            with self._lock.write():
                self._ensure_capacity_locked(self._index.ntotal + n)
        with tqdm(total=n, unit="vec", desc="ann add", disable=n <= _PROGRESS_MIN, mininterval=1.0) as bar:
            for s in range(0, n, _CHUNK):
                with self._lock.write():  # released between chunks so searches keep being served
                    self._add_locked(pids[s : s + _CHUNK], vectors[s : s + _CHUNK])
                bar.update(min(_CHUNK, n - s))

    def _add_locked(self, pids: np.ndarray, vectors: np.ndarray) -> None:
        self._internal_of = _grow(self._internal_of, int(pids.max()) + 1, -1)
        old = self._internal_of[pids]  # (n,) previous live entry, -1 if none
        if (old >= 0).any():  # same vector again (a status-only edit): a no-op, not a dead entry
            same = (old >= 0) & (self._matrix_locked()[np.maximum(old, 0)] == vectors).all(axis=1)
            pids, vectors, old = pids[~same], vectors[~same], old[~same]
            if not len(pids):
                return
        n, start = len(pids), self._index.ntotal
        self._ensure_capacity_locked(start + n)
        faiss.omp_set_num_threads(_MAX_THREADS if n >= _PARALLEL_ADD_MIN else 1)  # per-thread setting
        self._index.add(vectors)
        new = np.arange(start, start + n, dtype=np.int64)  # (n,) internal ids just assigned
        self._pid_of = _grow(self._pid_of, start + n, -1)
        self._excluded = _grow(self._excluded, start + n, False)
        self._pid_of[new] = pids
        self._internal_of[pids] = new
        replaced = old[old >= 0]
        self._live += n - len(replaced)
        self._max_pid = max(self._max_pid, int(pids.max()))
        self._exclude_locked(replaced)

    def remove(self, pids: np.ndarray) -> int:
        """Exclude posts from all future searches; unknown pids are ignored. Returns how many were live."""
        pids = np.asarray(pids, dtype=np.int64).ravel()
        with self._lock.write():
            pids = pids[(pids >= 0) & (pids < len(self._internal_of))]
            internal = np.unique(self._internal_of[pids])
            internal = internal[internal >= 0]
            self._internal_of[self._pid_of[internal]] = -1
            self._live -= len(internal)
            self._exclude_locked(internal)
        return len(internal)

    def _exclude_locked(self, internal: np.ndarray) -> None:
        if len(internal):
            self._excluded[internal] = True
            self._n_excluded += len(internal)
            self._selector_dirty = True

    def _current_selector(self) -> faiss.IDSelector | None:
        """The 'not excluded' selector, rebuilt on the first search after the excluded set changed.

        Called under the read lock (no writer can change `_excluded`); `_sel_lock` makes
        concurrent readers build it once.
        """
        if self._selector_dirty:
            with self._sel_lock:
                if self._selector_dirty:
                    self._selector, self._selector_refs = None, ()
                    if self._n_excluded:
                        bitmap = np.packbits(self._excluded[: self._index.ntotal], bitorder="little")  # (n/8,)
                        inner = _faiss.IDSelectorBitmap(bitmap)  # bit i of byte i>>3, LSB first, as FAISS reads it
                        self._selector, self._selector_refs = faiss.IDSelectorNot(inner), (bitmap, inner)
                    self._selector_dirty = False
        return self._selector

    # ---- reads -------------------------------------------------------------------------------

    def _matrix_locked(self) -> np.ndarray:
        """Zero-copy (ntotal, D) view of FAISS's vector storage; valid only while a lock is held."""
        n = self._index.ntotal
        if not n:
            return np.zeros((0, self.dim), np.float32)
        raw = faiss.rev_swig_ptr(self._flat.codes.data(), n * self.dim * 4)  # re-fetched: storage may move
        return raw.view(np.float32).reshape(n, self.dim)

    @staticmethod
    def _as_queries(query: np.ndarray, dim: int) -> tuple[np.ndarray, bool]:
        q = np.ascontiguousarray(query, dtype=np.float32)
        single = q.ndim == 1
        q = q.reshape(1, -1) if single else q  # (Q, D)
        if q.ndim != 2 or q.shape[1] != dim:
            raise ValueError(f"query must be ({dim},) or (Q, {dim}), got {np.shape(query)}")
        return q, single

    @staticmethod
    def _finish(pids: np.ndarray, scores: np.ndarray, single: bool) -> tuple[np.ndarray, np.ndarray]:
        if single:
            keep = pids[0] >= 0
            return pids[0][keep], scores[0][keep]
        scores[pids < 0] = -np.inf
        return pids, scores

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k live posts by inner product.

        (D,) query -> (pids (<=k,) int64, scores float32), best first, no padding.
        (Q, D) -> (Q, min(k, len)) arrays padded with pid -1 / score -inf.
        """
        q, single = self._as_queries(query, self.dim)  # (Q, D)
        with self._lock.read():
            kk = min(int(k), self._live)
            if kk <= 0:
                return self._finish(np.full((len(q), 0), -1, np.int64), np.zeros((len(q), 0), np.float32), single)
            params = _faiss.SearchParametersHNSW()
            params.efSearch = max(self.settings.ef_search, kk)
            sel = self._current_selector()
            if sel is not None:
                params.sel = sel
            faiss.omp_set_num_threads(1 if len(q) == 1 else _MAX_THREADS)  # per-thread: requests don't contend
            scores, labels = self._index.search(q, kk, params=params)  # (Q, kk), (Q, kk)
            pids = np.where(labels >= 0, self._pid_of[np.maximum(labels, 0)], -1)  # (Q, kk)
        return self._finish(pids, scores.astype(np.float32, copy=False), single)

    def exact_search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Brute-force top-k over live vectors (ground truth for recall); same shapes as `search`."""
        q, single = self._as_queries(query, self.dim)
        with self._lock.read():
            x = self._matrix_locked()  # (n, D) view
            n = len(x)
            kk = min(int(k), self._live)
            shape = (len(q), max(kk, 0))
            pids, scores = np.full(shape, -1, np.int64), np.full(shape, -np.inf, np.float32)
            if kk > 0:
                excluded = self._excluded[:n] if self._n_excluded else None
                step = max(1, (64 << 20) // (4 * n))  # queries per block: <= 64 MB of scores
                for s in range(0, len(q), step):
                    sc = q[s : s + step] @ x.T  # (B, n)
                    if excluded is not None:
                        sc[:, excluded] = -np.inf
                    top = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]  # (B, kk) unordered
                    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(sc, top, 1), axis=1), 1)
                    scores[s : s + step], pids[s : s + step] = np.take_along_axis(sc, top, 1), self._pid_of[top]
        return self._finish(pids, scores, single)

    def vectors(self, pids: np.ndarray, *, strict: bool = False) -> np.ndarray:
        """Current vectors (N, D) of `pids`, one numpy gather.

        A pid not live in the index (removed, never vectorised, a race with a delete) gets a zero row,
        i.e. similarity 0, so ranking never fails on it; strict=True raises KeyError instead.
        """
        pids = np.asarray(pids, dtype=np.int64).ravel()  # (N,)
        with self._lock.read():
            internal = np.full(len(pids), -1, np.int64)
            ok = (pids >= 0) & (pids < len(self._internal_of))
            internal[ok] = self._internal_of[pids[ok]]
            missing = internal < 0
            if strict and missing.any():
                raise KeyError(f"{int(missing.sum())} pids not in the index, e.g. {pids[missing][:5].tolist()}")
            mat = self._matrix_locked()
            # An empty index (every post removed) has no row 0 to gather: all rows are missing then.
            out = mat[np.maximum(internal, 0)] if len(mat) else np.zeros((len(pids), self.dim), np.float32)
        out[missing] = 0.0  # fancy indexing made a copy: safe to write, valid after the lock
        return out

    # ---- persistence -------------------------------------------------------------------------

    @staticmethod
    def has_snapshot(directory: Path) -> bool:
        return has_snapshot(directory)

    def save(self, directory: Path) -> Path:
        """Snapshot to `directory` as index.faiss (faiss.write_index) + index.npz (id maps, excluded set).

        Crash-safe at any point: the new pair is written as *.new, then a commit marker is
        atomically created, then both are renamed into place; `_recover` (run by save and load)
        finishes a committed snapshot or discards an uncommitted one, so a reader never sees a
        mismatched pair. The graph is cloned under the read lock (a memcpy) so disk I/O never
        blocks inserts; this costs a second copy of the index in memory while saving.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with self._save_lock:
            with self._lock.read():
                saved_at = time.time()  # every change before this is in the snapshot
                clone = faiss.clone_index(self._index)
                n = self._index.ntotal
                pid_of = self._pid_of[:n].copy()  # (n,) internal id -> pid
                excluded = np.flatnonzero(self._excluded[:n])  # (E,) internal ids
                meta = {"dim": self.dim, "ntotal": n, "live": self._live, "max_pid": self._max_pid,
                        "saved_at": saved_at}
            self._recover(directory)
            write_graph = lambda f: faiss.write_index(clone, _faiss.PyCallbackIOWriter(f.write))  # noqa: E731
            atomic_write(directory / f"{INDEX_FILE}.new", write_graph)
            atomic_write(
                directory / f"{MAPS_FILE}.new",
                lambda f: np.savez(f, pid_of=pid_of, excluded=excluded, meta=np.array(json.dumps(meta))),
            )
            atomic_write(directory / COMMIT, lambda f: f.write(json.dumps(meta).encode()))
            fsync_dir(directory)
            self._recover(directory)
        return directory / INDEX_FILE

    @staticmethod
    def _recover(directory: Path) -> None:
        """Roll an interrupted save forward (commit marker present) or back (absent)."""
        recover(directory)

    @classmethod
    def load(cls, directory: Path, settings: IndexSettings, *, headroom: float = 0.25) -> AnnIndex:
        """Open the snapshot; `max_pid` and `saved_at` tell the caller what to add or re-apply since."""
        directory = Path(directory)
        cls._recover(directory)
        index = faiss.read_index(str(directory / INDEX_FILE))  # already the concrete class; owns the C++ object
        if not isinstance(index, faiss.IndexHNSWFlat) or index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError(f"{directory / INDEX_FILE} is not an inner-product IndexHNSWFlat")
        with np.load(directory / MAPS_FILE) as z:
            pid_of, excluded = z["pid_of"].astype(np.int64), z["excluded"].astype(np.int64)
            meta = json.loads(str(z["meta"]))
        if not (len(pid_of) == index.ntotal == meta["ntotal"]) or index.d != meta["dim"]:
            raise ValueError(f"snapshot in {directory} is inconsistent: {meta}, ntotal {index.ntotal}")
        hnsw: Any = index.hnsw
        if hnsw.nb_neighbors(1) != settings.hnsw_m:
            log.warning("snapshot has hnsw_m=%d, settings say %d; keeping the snapshot's",
                        hnsw.nb_neighbors(1), settings.hnsw_m)
        obj = cls.__new__(cls)
        obj._setup(index, settings, pid_of, excluded, headroom)
        obj.saved_at = float(meta["saved_at"])
        with obj._lock.write():
            obj._ensure_capacity_locked(index.ntotal + 1)  # headroom so the first live inserts don't realloc
        return obj
