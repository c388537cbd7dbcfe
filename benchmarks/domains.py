"""Scenarios grown from the baseline for the benchmark's growth measurements.

Each is the baseline with one dimension enlarged and everything else as shipped:

* ``packages``: an extra term issue of q options, valued linearly by every party at weight 0.1
  (the others rescaled): the outcome space has 288 q packages;
* ``parties``: copies of the United States (a broker whose consent every text needs), so every
  round asks more parties, with more tables for the mediator to estimate;
* ``horizon``: the world followed for more days (more meeting cycles).

They are benchmarks, not evidence: the numbers added are labelled as such in their assumptions.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
WHY = "generated for the benchmark: a size, not evidence"


def baseline_raw() -> dict[str, Any]:
    from sim.scenario.loading import load_raw

    return load_raw(BASELINE)


def scenario(raw: dict[str, Any], name: str):
    """Validate a grown dict as if it were a file beside the baseline (its quotes are the baseline's)."""
    from sim.engine.outcomes import check_negotiable
    from sim.scenario.loading import validate

    sc = validate(raw, BASELINE.with_name(f"{name}.toml"))
    check_negotiable(sc)
    return sc


def with_packages(options: int) -> Any:
    """The baseline with an extra term issue of ``options`` options: 288 x options packages."""
    raw = baseline_raw()
    opts = [f"o{j}" for j in range(options)]
    raw["issues"]["extra"] = {"label": "Extra issue", "options": opts}
    raw["opening"]["package"]["extra"] = opts[0]
    for party in raw["parties"].values():
        for pos in party["positions"].values():
            pos["weight"] *= 0.9
        party["positions"]["extra"] = {
            "weight": 0.1,
            "values": {o: j / (options - 1) for j, o in enumerate(opts)},
            "assumption": WHY,
        }
    return scenario(raw, f"packages_{288 * options}")


def with_parties(extra: int) -> Any:
    """The baseline with ``extra`` copies of the United States: 3 + extra parties."""
    raw = baseline_raw()
    for k in range(extra):
        raw["parties"][f"broker_{k}"] = copy.deepcopy(raw["parties"]["us"]) | {"label": f"Broker {k}"}
    return scenario(raw, f"parties_{len(raw['parties'])}")


def with_horizon(days: int) -> Any:
    raw = baseline_raw()
    raw["calendar"]["horizon_days"] = days
    return scenario(raw, f"horizon_{days}")
