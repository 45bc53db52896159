from __future__ import annotations

import pytest

from reelrank.domain import Event, EventKind
from reelrank.stream.event_codec import KIND_CODE, CodecError, concat_events, decode_events, encode_events


def test_round_trip_and_concat() -> None:
    a = [(Event(event_id="1", user_id="u", post_id="p", kind=EventKind.VIEW, ts=10.5, watch_ms=900,
                duration_ms=1000), 3, 7),
         (Event(event_id="2", user_id="u", kind=EventKind.FOLLOW, target_user_id="c", ts=11.0), 3, 0)]
    b = [(Event(event_id="3", user_id="v", post_id="q", kind=EventKind.LIKE, ts=12.0), 4, 9)]
    one = decode_events(encode_events(a))
    assert one["uid"].tolist() == [3, 3] and one["pid"].tolist() == [7, 0]
    assert one["kind"].tolist() == [KIND_CODE[EventKind.VIEW], KIND_CODE[EventKind.FOLLOW]]
    assert one["watch_ms"].tolist() == [900, -1] and one["duration_ms"].tolist() == [1000, 0]
    both = concat_events([encode_events(a), encode_events(b)])
    assert both["ts"].tolist() == [10.5, 11.0, 12.0]
    assert len(concat_events([])) == 0


def test_foreign_payloads_are_refused() -> None:
    with pytest.raises(CodecError):
        decode_events(b"hello")
    with pytest.raises(CodecError):
        decode_events(b"RRe1" + b"\x00" * 5)
