"""Server-mode fixtures: a PostgreSQL schema and a Redis key prefix unique to each test, dropped after;
`own_redis`: a private redis-server (on its own port) that a test may stop and restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reelrank.config import Settings
from tests.server_mode.redis_process import RedisProcess
from tests.state import services


@pytest.fixture
def server_settings(tmp_path: Path) -> Iterator[Settings]:
    with services.server_mode_settings(tmp_path / "data", "sm") as s:
        yield s


@pytest.fixture
def own_redis(server_settings: Settings, tmp_path: Path) -> Iterator[RedisProcess]:
    proc = RedisProcess(tmp_path / "redis")
    proc.start()
    server_settings.redis_url = proc.url
    try:
        yield proc
    finally:
        proc.stop()
