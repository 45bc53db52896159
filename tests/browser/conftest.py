"""Browser tests: headless Chromium (the system one, driven by Playwright for Python) against a real
uvicorn server on a free localhost port, serving an engine loaded with a small synthetic world.

They skip, with the reason, when Playwright or a Chromium binary is missing; `scripts/test` installs
Chromium with apt-get when it runs as root (as CI does).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.server import LiveServer, live_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def chromium_path() -> str | None:
    for cand in (os.environ.get("REELRANK_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                 "/usr/bin/chromium"):
        if cand and Path(cand).is_file():
            return cand
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip("headless Chromium not found: install it with `apt-get install -y chromium chromium-driver` "
                    "(scripts/test does this when run as root) or set REELRANK_CHROMIUM")
    return path


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                   "(it is in the dev extra: pip install -e '.[dev]')")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("web") / "data") as s:
        yield s


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def new_page(browser: Any, viewport: dict[str, int]) -> tuple[Any, Any, list[str]]:
    """A fresh context (empty storage) with reduced motion: scrolling is instant and deterministic."""
    ctx = browser.new_context(viewport=viewport, reduced_motion="reduce", device_scale_factor=1)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))  # the tests check the app never throws
    return ctx, page, errors
