"""Candidates travel as columns: pids plus one array per signal, so every stage is vectorised."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Candidates:
    pids: np.ndarray  # (N,) int64, unique
    sources: np.ndarray  # (N,) uint32: bit i set when source i proposed the post
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N,) per-candidate values

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32))

    def __len__(self) -> int:
        return len(self.pids)

    def take(self, idx: np.ndarray) -> Candidates:
        """A subset (boolean mask or integer indices), every column kept aligned."""
        return Candidates(self.pids[idx], self.sources[idx], {k: v[idx] for k, v in self.columns.items()})


@dataclass(frozen=True, slots=True)
class Retrieved:
    """What one source returns: pids and the source's own score for each (higher is better)."""

    pids: np.ndarray  # (N,) int64
    scores: np.ndarray  # (N,) float32

    @classmethod
    def empty(cls) -> Retrieved:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def merge(results: list[tuple[int, Retrieved]]) -> Candidates:
    """Union of every source's pids; keeps the bit of each source that proposed a post, and each
    source's score as column `src:<bit>` (NaN where that source did not propose it)."""
    parts = [(bit, r) for bit, r in results if len(r.pids)]
    if not parts:
        return Candidates.empty()
    all_pids = np.concatenate([r.pids for _, r in parts])
    uniq, inverse = np.unique(all_pids, return_inverse=True)
    sources = np.zeros(len(uniq), dtype=np.uint32)
    best = np.full(len(uniq), -np.inf, dtype=np.float32)
    offset = 0
    cols: dict[str, np.ndarray] = {}
    for bit, r in parts:
        idx = inverse[offset : offset + len(r.pids)]
        offset += len(r.pids)
        sources[idx] |= np.uint32(1 << bit)
        col = np.full(len(uniq), np.nan, dtype=np.float32)
        col[idx] = r.scores
        cols[f"src:{bit}"] = col
        best[idx] = np.maximum(best[idx], r.scores)
    return Candidates(uniq.astype(np.int64), sources, cols)
