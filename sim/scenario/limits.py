"""Limits on what a scenario or a command may ask for, each with a default and an environment variable.

The job-size limits (replications, sweep points, estimated time and memory) are checked before any
work starts; see sim.experiments.budget for the estimates. A limit is changed by setting its
variable, e.g. ``NEGSIM_MAX_REPLICATIONS=50000000 negsim run big.toml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sim.errors import UserError, show


@dataclass(frozen=True)
class Limit:
    what: str
    env: str
    default: int

    def value(self) -> int:
        raw = os.environ.get(self.env)
        if raw is None or not raw.strip():
            return self.default
        try:
            value = int(raw.replace("_", "").replace(",", ""))
        except ValueError:
            raise UserError(f"{self.env}={show(raw)}: must be a whole number") from None
        if value < 1:
            raise UserError(f"{self.env}={show(raw)}: must be at least 1")
        return value

    def allowed(self) -> str:
        return f"at most {self.value():,} {self.what} (set {self.env} to change the limit)"


REPLICATIONS = Limit("replications per scenario", "NEGSIM_MAX_REPLICATIONS", 10_000_000)
POINTS = Limit("points per sweep", "NEGSIM_MAX_POINTS", 10_000)
SECONDS = Limit("seconds of estimated work", "NEGSIM_MAX_SECONDS", 3_600)
MEMORY_MB = Limit("MB of estimated memory", "NEGSIM_MAX_MEMORY_MB", 4_096)
