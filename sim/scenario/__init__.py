"""Scenario layer: the schema of a scenario file, its loading (``extends``, overrides) and its sources."""

from sim.errors import ScenarioError
from sim.scenario.loading import (
    canonical_hash,
    find_scenarios,
    load_raw,
    load_scenario,
    merge,
    set_path,
    validate,
    with_overrides,
)
from sim.scenario.schema import Scenario, Source, Sourced, Uncertain
from sim.scenario.seeds import find_seed, seed_line

__all__ = [
    "Scenario",
    "ScenarioError",
    "Source",
    "Sourced",
    "Uncertain",
    "canonical_hash",
    "find_scenarios",
    "find_seed",
    "load_raw",
    "load_scenario",
    "merge",
    "seed_line",
    "set_path",
    "validate",
    "with_overrides",
]
