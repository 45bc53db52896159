"""Versioned artifact folders and the atomic `current` pointer."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelrank.models.registry import ModelRegistry


def test_versions_publish_atomically_and_current_moves(tmp_path: Path) -> None:
    reg = ModelRegistry.for_data_dir(tmp_path)
    assert reg.versions() == [] and reg.current() is None
    with reg.new_version() as (v1, folder):
        (folder / "config.json").write_text("{}")
        assert reg.versions() == []  # invisible until complete
    with reg.new_version() as (v2, _):
        pass
    assert (v1, v2) == ("v0001", "v0002") and reg.versions() == ["v0001", "v0002"]
    reg.set_current(v2)
    assert reg.current() == "v0002"
    reg.set_current(v1)  # roll back
    assert reg.current() == "v0001" and reg.describe(v1)["current"]
    with pytest.raises(FileNotFoundError):
        reg.set_current("v0009")


def test_a_failed_write_leaves_no_version(tmp_path: Path) -> None:
    reg = ModelRegistry.for_data_dir(tmp_path)
    with pytest.raises(RuntimeError), reg.new_version():
        raise RuntimeError("training crashed")
    assert reg.versions() == [] and not any(reg.root.iterdir())
