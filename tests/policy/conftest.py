"""Policy tests judge what the funnel chose, not how fast: sources get a deadline no loaded CI machine
misses (the default 30 ms fail-open deadline would turn a scheduling hiccup into a short page)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelrank.config import Settings, SourceSettings
from tests.conftest import make_settings

PATIENT = SourceSettings(deadline_ms=5000.0)


def patient_settings(data_dir: Path, **overrides: object) -> Settings:
    return make_settings(data_dir, sources=PATIENT, **overrides)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return patient_settings(tmp_path / "data")
