"""Synthetic worlds and simulated users: the ground truth for the demo, tests and benchmarks."""

from reelrank.simulation.agent import Behaviour, ItemOutcome, SessionReport, SimulatedUser
from reelrank.simulation.api import SimulationError
from reelrank.simulation.population import (
    LoadReport,
    PopulationReport,
    WorldLoadError,
    load_world,
    run_population,
)
from reelrank.simulation.topics import TOPIC_NAMES, TOPICS, Topic, get_topic
from reelrank.simulation.world import (
    World,
    WorldConfig,
    generate_world,
    make_cooking_world,
    single_interest_world,
)

__all__ = [
    "TOPICS",
    "TOPIC_NAMES",
    "Behaviour",
    "ItemOutcome",
    "LoadReport",
    "PopulationReport",
    "SessionReport",
    "SimulatedUser",
    "SimulationError",
    "Topic",
    "World",
    "WorldConfig",
    "WorldLoadError",
    "generate_world",
    "get_topic",
    "load_world",
    "make_cooking_world",
    "run_population",
    "single_interest_world",
]
