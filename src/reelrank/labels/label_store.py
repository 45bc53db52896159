"""Where the labeller's output lives: npz shards under <data_dir>/labels/, the ranker's training arrays.

    labels/examples-<start>-<end>.npz   x (N, F) features, y (N, T) labels + watch ratio, ts (N,),
                                        features (F,) names; every impression with start <= ts < end
    labels/watermark.json               the labeller's position and where it began (origin)
    labels/.lock                        held by the process that is labelling (one at a time)

A shard is written to a temporary name and renamed, so a reader never sees half of one, and a shard is
the commit of its step: the watermark is the larger of watermark.json and the last shard's end, so a
crash between the two neither loses nor duplicates a range. Processes that share a data_dir (the
`reelrank worker`s of a deployment, `reelrank train ranker`) share the shards, as they share the index
snapshots.

Why files and not the record store: the shards are derived data (re-joinable from impressions and events
while the store keeps them), written once and read whole by training, in exactly the arrays training
wants; the record store is the system of record with row-level access paths that training never needs.
They outlive the record store's retention (`backends.retention_days`), which drops old impressions.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
_SHARD = re.compile(r"examples-(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\.npz$")


@dataclass(frozen=True)
class Shard:
    path: Path
    start: float  # impressions with start <= ts < end
    end: float


@dataclass(frozen=True)
class StoredLabels:
    x: np.ndarray  # (N, F)
    y: np.ndarray  # (N, T)
    ts: np.ndarray  # (N,)
    start: float  # what the shards read cover: start <= ts < end (start == end: nothing)
    end: float
    shards: int


class LabelStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._mark = folder / "watermark.json"

    def shards(self) -> list[Shard]:
        """Every complete shard, in time order."""
        out = []
        for p in self.folder.glob("examples-*.npz") if self.folder.is_dir() else []:
            m = _SHARD.match(p.name)
            if m:
                out.append(Shard(p, float(m.group(1)), float(m.group(2))))
        return sorted(out, key=lambda s: s.start)

    def _state(self) -> dict[str, float]:
        return json.loads(self._mark.read_text()) if self._mark.exists() else {}

    def watermark(self) -> float | None:
        """Where labelling stands (None: it never ran here)."""
        marks = [s.end for s in self.shards()[-1:]]
        if "watermark" in (state := self._state()):
            marks.append(float(state["watermark"]))
        return max(marks) if marks else None

    def write(self, arrays: dict[str, np.ndarray], start: float, end: float) -> Path | None:
        """One step's examples (impressions in [start, end)), then the watermark `end`. Steps without
        examples write no shard: the next shard starts where the previous one ended (or where labelling
        began), so the shards always tile the time labelled."""
        self.folder.mkdir(parents=True, exist_ok=True)
        state, last = self._state(), self.shards()[-1:]
        origin = float(state.get("origin", state.get("watermark", start)))
        path = None
        if len(arrays["ts"]):
            first = last[0].end if last else origin
            path = self.folder / f"examples-{first:.3f}-{end:.3f}.npz"
            tmp = path.with_name(f".{path.stem}.tmp.npz")
            np.savez(tmp, **arrays)  # type: ignore[arg-type]
            os.replace(tmp, path)
        tmp_mark = self._mark.with_suffix(".tmp")
        tmp_mark.write_text(json.dumps({"watermark": end, "origin": origin}))
        os.replace(tmp_mark, self._mark)
        return path

    @contextmanager
    def exclusive(self) -> Iterator[bool]:
        """True when this process may label now (no other process sharing the folder is labelling)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def read(self, features: tuple[str, ...], until: float = float("inf")) -> StoredLabels | None:
        """The contiguous run of shards with these feature columns ending at or before `until`; None when
        there is none. A shard written with other features (the feature list changed), an unreadable one
        or a gap between shards ends the run (newest first): what is returned covers [start, end)
        without holes, and the caller joins what is older."""
        run: list[tuple[Shard, dict[str, np.ndarray]]] = []
        for shard in reversed([s for s in self.shards() if s.end <= until]):
            if run and shard.end < run[-1][0].start:
                log.warning("labels: gap before %s; older shards are not used", run[-1][0].path.name)
                break
            try:
                with np.load(shard.path) as z:
                    if "features" not in z.files or tuple(str(f) for f in z["features"]) != tuple(features):
                        log.warning("labels: %s has other features; it and older shards are not used",
                                    shard.path.name)
                        break
                    run.append((shard, {k: z[k] for k in ("x", "y", "ts")}))
            except (OSError, ValueError, KeyError, zipfile.BadZipFile):
                log.exception("labels: cannot read %s; it and older shards are not used", shard.path.name)
                break
        if not run:
            return None
        run.reverse()
        return StoredLabels(np.concatenate([a["x"] for _, a in run]), np.concatenate([a["y"] for _, a in run]),
                            np.concatenate([a["ts"] for _, a in run]), run[0][0].start, run[-1][0].end, len(run))
