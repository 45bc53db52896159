"""A per-request record of what each stage did: counts, timings, removals with reasons, moves."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


class StageDegraded(Exception):
    """Raised by a scorer that fell back (e.g. the ranker missed its deadline and left pre-rank order):
    the executor records the status in the trace and metrics and carries on."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class StageRecord:
    stage: str  # "source" | "merge" | "filter" | "score" | "select" | "context"
    name: str
    ms: float
    n_in: int | None = None
    n_out: int | None = None
    status: str = "ok"  # "ok" | "timeout" | "error" | "skipped"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trace:
    """Always collects timings (cheap); `detailed` adds per-post removals and moves (for explain)."""

    detailed: bool = False
    source_top: int = 0  # > 0: each source's stage keeps its top N (pid, source score) (the inspector)
    stages: list[StageRecord] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)

    def add(self, record: StageRecord) -> None:
        self.stages.append(record)

    def as_dict(self) -> dict[str, Any]:
        return {
            "degraded": self.degraded,
            "stages": [
                {"stage": s.stage, "name": s.name, "ms": round(s.ms, 3), "n_in": s.n_in, "n_out": s.n_out,
                 "status": s.status, **({"detail": s.detail} if s.detail else {})}
                for s in self.stages
            ],
        }


class Stopwatch:
    def __init__(self) -> None:
        self._t = time.perf_counter()

    def lap(self) -> float:
        """Milliseconds since the last lap (or creation)."""
        t = time.perf_counter()
        ms = (t - self._t) * 1000.0
        self._t = t
        return ms
