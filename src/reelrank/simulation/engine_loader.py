"""Loads a synthetic world straight into an engine (no HTTP): for the demo and benchmarks.

Tests and the population runner load worlds through the API instead (population.load_world).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from reelrank.simulation.world import World

if TYPE_CHECKING:
    from reelrank.engine import Engine


def load_world_into_engine(
    engine: Engine, world: World, batch: int = 512, progress: bool = True, vectors: np.ndarray | None = None
) -> None:
    """Accounts, posts (encoded by the engine's vectorizer unless `vectors` (N, D) is given) and follows."""
    writer = engine.account_writer
    accounts = world.creators + world.viewers
    for i in range(0, len(accounts), 5000):
        writer.put_users(accounts[i : i + 5000])
    bar = tqdm(total=len(world.posts), desc="posts", unit="post", disable=not progress)
    for i in range(0, len(world.posts), batch):
        chunk = world.posts[i : i + batch]
        engine.post_writer.put(chunk, None if vectors is None else vectors[i : i + batch])
        bar.update(len(chunk))
    bar.close()
    for edge in world.follows():
        writer.put_edge(edge)
