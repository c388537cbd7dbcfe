"""negsim: mediated multi-party negotiation scenarios, simulated as a Mesa ensemble.

The names below are imported on first use, so ``negsim --help`` stays fast.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_scenario": "sim.scenario",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "NegotiationModel": "sim.model",
    "OutcomeSpace": "sim.outcomes",
    "run": "sim.experiment",
    "compare": "sim.experiment",
    "sweep": "sim.sweeps",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
