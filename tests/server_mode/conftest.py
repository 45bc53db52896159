"""Server-mode fixtures: a PostgreSQL schema and a Redis key prefix unique to each test, dropped after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reelrank.config import Settings
from tests.state import services


@pytest.fixture
def server_settings(tmp_path: Path) -> Iterator[Settings]:
    with services.server_mode_settings(tmp_path / "data", "sm") as s:
        yield s
