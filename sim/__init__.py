"""negsim: mediated multi-party negotiation scenarios, simulated as a Mesa ensemble.

The package is in layers, each importing only from those below it:
``scenario`` (schema, loading, sources) -> ``engine`` (outcome space, agents, dynamics, model) ->
``experiments`` (chunks, executors, tallies, sweeps) -> ``outputs`` (files, plots, reports,
narratives) -> ``api`` (what a notebook calls) -> ``cli``.
The names below are imported on first use, so ``negsim --help`` stays fast.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_scenario": "sim.api",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.errors",
    "NegotiationModel": "sim.engine.model",
    "OutcomeSpace": "sim.engine.outcomes",
    "run": "sim.api",
    "compare": "sim.api",
    "sweep": "sim.api",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
