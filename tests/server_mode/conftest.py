"""Server-mode fixtures: a PostgreSQL schema and a Redis key prefix unique to each test, dropped after."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelrank.config import Settings
from tests.conftest import make_settings
from tests.state import services

_counter = itertools.count()


@pytest.fixture
def server_settings(tmp_path: Path) -> Iterator[Settings]:
    s = make_settings(tmp_path / "data")
    s.database_url = services.require_postgres()
    s.redis_url = services.require_redis()
    n = next(_counter)
    s.backends.database_schema = f"rr_test_{services.RUN_TOKEN}_sm{n}"
    s.backends.redis_prefix = f"rr-test:{services.RUN_TOKEN}:sm{n}"
    yield s
    services.drop_schema(s.backends.database_schema)
    services.delete_keys(s.backends.redis_prefix + ":")
