"""The pool's record of each trending post: ratio, velocity and when it entered."""

from __future__ import annotations

from tests.trends.helpers import NOW, make_rig


def test_detection_records_ratio_velocity_and_entry_time() -> None:
    rig = make_rig()
    rig.likes(1, 30)
    [entry] = rig.pool.entries([1, 2], rig.clock.t)
    assert entry.pid == 1 and entry.entered_at == NOW and entry.expires_at == NOW + 600
    assert entry.velocity is not None and entry.velocity >= 30  # a count-min estimate never undercounts
    assert entry.heat >= 5.0


def test_entry_time_survives_refresh_and_resets_after_the_post_left() -> None:
    rig = make_rig()
    rig.pool.add([1], [["cooking"]], [6.0], NOW, velocity=[25.0])
    rig.pool.add([1], [["cooking"]], [9.0], NOW + 100, velocity=[40.0])  # still trending: refreshed
    [e] = rig.pool.entries([1], NOW + 100)
    assert (e.entered_at, e.expires_at, e.heat, e.velocity) == (NOW, NOW + 700, 9.0, 40.0)
    rig.clock.t = NOW + 800  # expired (ttl 600 after the last detection)
    assert rig.pool.entries([1], rig.clock.t) == []
    rig.pool.add([1], [["cooking"]], [7.0], rig.clock.t)  # back again: a new stay, no velocity given
    [e] = rig.pool.entries([1], rig.clock.t)
    assert e.entered_at == NOW + 800 and e.heat == 7.0


def test_entries_skip_posts_not_trending_and_keep_input_order() -> None:
    rig = make_rig()
    rig.pool.add([2, 1], [["football"], ["cooking"]], [8.0, 6.0], NOW)
    assert [e.pid for e in rig.pool.entries([3, 1, 2], NOW)] == [1, 2]
