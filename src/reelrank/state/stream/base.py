"""The event stream between ingest and its consumers, shaped like Redis Streams with consumer groups.

Ingest appends accepted events; each consumer group (features, trends, labeller, ...) reads every
entry once per group, acknowledges what it applied, and a restarted consumer first re-reads its
own pending (delivered, unacknowledged) entries. Effects must be idempotent, since delivery is
at-least-once. The in-process implementation serves the embedded default; Redis Streams serve
server mode. Both pass the same contract tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StreamEntry:
    entry_id: str  # ordered: a later append has a greater id (Redis "<ms>-<seq>" ids compare as tuples)
    payload: bytes


class EventStream(Protocol):
    def append(self, payloads: Sequence[bytes]) -> list[str]:
        """Append entries (XADD, with the stream's length bounded); return their ids."""
        ...

    def ensure_group(self, group: str, from_start: bool = True) -> None:
        """Create the consumer group if missing (XGROUP CREATE ... MKSTREAM)."""
        ...

    def read(self, group: str, consumer: str, count: int, block_ms: int = 0) -> list[StreamEntry]:
        """New entries for this group, delivered to `consumer` and pending until acked (XREADGROUP >)."""
        ...

    def read_pending(self, group: str, consumer: str, count: int) -> list[StreamEntry]:
        """Entries delivered to `consumer` but not acked (XREADGROUP with id 0): what a restarted
        consumer must finish first."""
        ...

    def claim_stale(self, group: str, consumer: str, min_idle_ms: int, count: int) -> list[StreamEntry]:
        """Take over entries another consumer left pending longer than min_idle_ms (XAUTOCLAIM)."""
        ...

    def ack(self, group: str, entry_ids: Sequence[str]) -> int: ...

    def length(self) -> int: ...


def entry_key(entry_id: str) -> tuple[int, int]:
    """The order of an entry id: Redis ids "<ms>-<seq>" compare as (ms, seq), not as strings ("9-0" < "10-0")."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
