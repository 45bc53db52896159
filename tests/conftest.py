"""Shared fixtures: small engines on the deterministic hashing encoder, in a temp data dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reelrank.config import EncoderSettings, IndexSettings, Settings
from reelrank.engine import Engine
from reelrank.serving.app import create_app


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    s = Settings(data_dir=data_dir, encoder=EncoderSettings(kind="hashing"),
                 index=IndexSettings(snapshot_every_s=0), cursor_secret="test")
    for k, v in overrides.items():
        setattr(s, k, v)
    return s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    e = Engine(settings)
    yield e
    e.close()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine)) as c:
        yield c
