"""The demo: a live engine on the embedded store, a synthetic world, and simulated users driving it.

`reelrank demo` generates the world once (kept in the data dir), serves the API, and keeps a few
simulated users scrolling in the background so trends, popularity and sessions are alive.
"""

from __future__ import annotations

import logging
import threading
import time

import httpx

from reelrank.config import Settings
from reelrank.engine import Engine
from reelrank.simulation.agent import SimulatedUser
from reelrank.simulation.engine_loader import load_world_into_engine
from reelrank.simulation.world import World, WorldConfig, generate_world

log = logging.getLogger(__name__)


def prepare(settings: Settings, cfg: WorldConfig) -> tuple[Engine, World]:
    """Open the engine; load the world unless the store already holds it (a restart is instant)."""
    engine = Engine(settings)
    world = generate_world(cfg)
    if len(engine.catalogue) == 0:
        print(f"Loading a synthetic world: {len(world.creators)} creators, {len(world.viewers)} viewers, "
              f"{len(world.posts)} posts (encoded with {engine.vectorizer.encoder.name})...", flush=True)
        load_world_into_engine(engine, world)
        engine.snapshot()
    return engine, world


def simulate_forever(base_url: str, world: World, stop: threading.Event, n_agents: int = 8,
                     pause_s: float = 1.0) -> None:
    """Simulated viewers scroll sessions against the running API until `stop` is set."""
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        for _ in range(100):  # wait for the server
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        agents = [SimulatedUser.from_world(client, world, v.user_id, seed=i)
                  for i, v in enumerate(world.viewers[:n_agents])]
        while not stop.is_set():
            for agent in agents:
                if stop.is_set():
                    return
                try:
                    agent.run_session(n_pages=2, page_size=10)
                except Exception as exc:  # a failing agent must not take the demo down
                    log.warning("simulated user %s: %r", agent.user_id, exc)
                stop.wait(pause_s)
