"""Accepted events on the stream: one entry per accepted batch, packed as a numpy record array.

One entry per batch, not per event, keeps the per-entry costs (append, read, ack, the applied-set
check) at a few per thousand events; consumers then work on whole columns with numpy. Ids are the
engine's internal integers (uid, pid), which every process sharing the record store agrees on.
The first 4 bytes name the format, so a consumer never misreads an entry written by another version.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reelrank.domain import Event, EventKind

MAGIC = b"RRe1"
# Never reorder: codes are stored in stream entries. Append new kinds at the end.
KIND_ORDER: tuple[EventKind, ...] = (
    EventKind.IMPRESSION, EventKind.VIEW, EventKind.LIKE, EventKind.COMMENT, EventKind.SHARE, EventKind.SAVE,
    EventKind.SKIP, EventKind.NOT_INTERESTED, EventKind.FOLLOW, EventKind.REPORT, EventKind.HIDE,
)
KIND_CODE: dict[EventKind, int] = {k: i for i, k in enumerate(KIND_ORDER)}

EVENT_DTYPE = np.dtype([
    ("uid", "<i8"),
    ("pid", "<i8"),  # 0 when the event names no post (a follow of an account)
    ("ts", "<f8"),
    ("watch_ms", "<i4"),  # -1 when absent
    ("duration_ms", "<i4"),  # 0 when absent
    ("kind", "u1"),
])


class CodecError(ValueError):
    """A stream entry that is not an event batch of this format."""


def encode_events(items: Sequence[tuple[Event, int, int]]) -> bytes:
    """(event, uid, pid) triples, as the event writer resolved them, to one stream payload."""
    rows = [(uid, pid, e.ts, -1 if e.watch_ms is None else e.watch_ms, e.duration_ms or 0, KIND_CODE[e.kind])
            for e, uid, pid in items]
    return MAGIC + np.array(rows, dtype=EVENT_DTYPE).tobytes()


def decode_events(payload: bytes) -> np.ndarray:
    """(N,) record array with EVENT_DTYPE fields (read-only view of the payload)."""
    if payload[:4] != MAGIC or (len(payload) - 4) % EVENT_DTYPE.itemsize:
        raise CodecError(f"not an event batch of format {MAGIC!r} ({len(payload)} bytes)")
    return np.frombuffer(payload, dtype=EVENT_DTYPE, offset=4)


def concat_events(payloads: Sequence[bytes]) -> np.ndarray:
    """Several entries' events as one array, in entry order."""
    parts = [decode_events(p) for p in payloads]
    if not parts:
        return np.zeros(0, dtype=EVENT_DTYPE)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
