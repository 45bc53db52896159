"""A real uvicorn server on a free localhost port, around an engine loaded with a small synthetic world."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from reelrank.engine import Engine
from reelrank.serving.app import create_app
from reelrank.simulation.engine_loader import load_world_into_engine
from reelrank.simulation.world import World, make_cooking_world
from tests.conftest import make_settings


@dataclass
class LiveServer:
    url: str
    engine: Engine
    world: World


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(data_dir: Path, world: World | None = None) -> Iterator[LiveServer]:
    engine = Engine(make_settings(data_dir))
    world = world or make_cooking_world(now=time.time())
    load_world_into_engine(engine, world, progress=False)
    port = free_port()
    config = uvicorn.Config(create_app(engine, own_engine=True), host="127.0.0.1", port=port, log_level="warning",
                            access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="uvicorn-browser-test")
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:
        server.should_exit = True
        raise RuntimeError("the test server did not start")
    try:
        yield LiveServer(url, engine, world)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
