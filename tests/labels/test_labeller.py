from __future__ import annotations

from pathlib import Path

from reelrank.domain import Event, EventKind, User
from reelrank.labels.labeller import Labeller, label
from reelrank.state.records.base import ImpressionRecord
from reelrank.state.records.sqlite import SqliteRecordStore

T = 1_700_000_000.0


def imp(post: str, ts: float, user: str = "u1", req: str = "r1", pos: int = 0) -> ImpressionRecord:
    return ImpressionRecord(request_id=req, user_id=user, post_id=post, ts=ts, surface="reels", position=pos)


def ev(kind: EventKind, post: str, ts: float, user: str = "u1", req: str | None = None, **kw: object) -> Event:
    return Event(event_id=f"{kind}-{post}-{ts}-{user}", user_id=user, post_id=post, kind=kind, ts=ts,
                 request_id=req, **kw)  # type: ignore[arg-type]


def test_events_join_their_impression_and_unanswered_are_negatives() -> None:
    imps = [imp("a", T), imp("b", T, pos=1), imp("c", T, pos=2)]
    events = [
        ev(EventKind.VIEW, "a", T + 5, watch_ms=9_500, duration_ms=10_000),
        ev(EventKind.LIKE, "a", T + 6), ev(EventKind.SHARE, "a", T + 7),
        ev(EventKind.SKIP, "b", T + 1), ev(EventKind.NOT_INTERESTED, "b", T + 2),
        ev(EventKind.LIKE, "c", T + 3, user="someone_else"),  # another user's like answers nothing here
    ]
    out = {e.impression.post_id: e for e in label(imps, events, window_s=1800)}
    assert out["a"].labels["completion"] == 1 and out["a"].labels["like"] == 1 and out["a"].labels["share"] == 1
    assert out["a"].watch_ratio == 0.95
    assert out["b"].labels["skip"] == 1 and out["b"].labels["not_interested"] == 1 and out["b"].labels["like"] == 0
    assert sum(out["c"].labels.values()) == 0 and out["c"].watch_ratio == 0.0


def test_attribution_window_and_latest_impression_win() -> None:
    imps = [imp("a", T, req="r1"), imp("a", T + 3600, req="r2")]
    events = [ev(EventKind.LIKE, "a", T + 3000),  # 50 min after the first: outside its 30 min window
              ev(EventKind.SAVE, "a", T + 3700)]  # answers the second impression
    first, second = label(imps, events, window_s=1800)
    assert first.labels["like"] == 0 and first.labels["save"] == 0
    assert second.labels["save"] == 1 and second.labels["like"] == 0


def test_request_id_match_ignores_client_clock() -> None:
    imps = [imp("a", T, req="r1")]
    events = [ev(EventKind.LIKE, "a", T - 5, req="r1")]  # client clock behind the server's
    assert label(imps, events, 1800)[0].labels["like"] == 1


def test_labeller_watermark_and_stall_detection(tmp_path: Path) -> None:
    store = SqliteRecordStore(tmp_path / "r.db")
    try:
        store.upsert_users([User(user_id="u1")])
        store.append_impressions([imp("a", T), imp("b", T + 100)])
        store.append_events([ev(EventKind.LIKE, "a", T + 10)])
        lab = Labeller(store, window_s=1800, stall_after_s=600)
        assert lab.step(now=T + 50) == []  # no window closed yet
        out = lab.step(now=T + 1850)  # a's window closed, b's not yet
        assert [e.impression.post_id for e in out] == ["a"] and out[0].labels["like"] == 1
        assert lab.watermark == T + 50
        assert lab.health(now=T + 1900)["stalled"] is False
        # Events keep arriving but nobody steps the labeller: stalled once the lag passes 600 s.
        store.append_events([ev(EventKind.LIKE, "b", T + 200)])
        h = lab.health(now=T + 5000)
        assert h["stalled"] is True and h["lag_s"] > 600
        out = lab.step(now=T + 5000)
        assert [e.impression.post_id for e in out] == ["b"] and out[0].labels["like"] == 1
        assert lab.health(now=T + 5000)["stalled"] is False
    finally:
        store.close()
