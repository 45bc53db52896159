"""The in-process online state drops expired keys in sweeps that only touch what expired."""

from __future__ import annotations

from reelrank.state.online.memory import MemoryOnlineState


def test_sweep_drops_expired_and_keeps_retouched_keys() -> None:
    now = [1000.0]
    st = MemoryOnlineState(clock=lambda: now[0])
    for i in range(5000):
        st.set(f"k{i}", b"x", ttl_s=10)
    st.set("forever", b"y")
    st.set("k0", b"x", ttl_s=100)  # touched again: lives longer
    now[0] += 50
    assert st.sweep(chunk=700) == 4999
    assert len(st) == 2 and st.get("k0") == b"x" and st.get("forever") == b"y"
    now[0] += 100
    assert st.sweep() == 1 and len(st) == 1
    st.set("k1", b"x", ttl_s=10)
    st.set("k1", b"x")  # made persistent again: never swept
    now[0] += 20
    assert st.sweep() == 0 and st.get("k1") == b"x"
