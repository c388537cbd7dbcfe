"""Posterior files: what ``negsim calibrate`` learnt about a scenario's assumptions.

TOML, written by ``calibrate`` and read by ``run``, ``score``, ``update`` and ``explain`` with
``--posterior FILE``, checked as strictly as a scenario file (one-line errors naming the field)::

    format = 1
    scenario = "baseline"
    scenario_sha256 = "..."
    observations = "example.toml"
    observation_ids = ["april", "week_one"]
    worlds_per_particle = 20
    weights = [0.01, ...]                    # one per posterior particle, summing to 1

    [parameters."parties.russia.margin.mean"]
    prior = "normal"                          # normal(a = mean, b = sd) or uniform(a = low, b = high)
    a = 0.1
    b = 0.05
    in_file = 0.1
    posterior_mean = 0.12
    posterior_sd = 0.03
    draws = [0.11, ...]                       # the particles, in the order of weights
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from sim.errors import ScenarioError
from sim.scenario.loading import read_toml, schema_error
from sim.scenario.schema import Strict

FINITE = Field(ge=-1e12, le=1e12)


class PosteriorParameter(Strict):
    prior: Literal["normal", "uniform"]
    a: float = FINITE
    b: float = FINITE
    in_file: float = FINITE
    posterior_mean: float = FINITE
    posterior_sd: float = Field(ge=0, le=1e12)
    draws: list[float] = Field(min_length=1, max_length=1_000_000)


class Posterior(Strict):
    format: Literal[1]
    scenario: str
    scenario_sha256: str
    observations: str
    observation_ids: list[str]
    worlds_per_particle: int = Field(ge=1)
    weights: list[float] = Field(min_length=1, max_length=1_000_000)
    parameters: dict[str, PosteriorParameter] = Field(min_length=1)
    path: str = ""

    @model_validator(mode="after")
    def _particles(self) -> Posterior:
        if any(w < 0 for w in self.weights) or not math.isclose(sum(self.weights), 1.0, abs_tol=1e-6):
            raise ValueError("weights must be 0 or more and sum to 1")
        for name, p in self.parameters.items():
            if len(p.draws) != len(self.weights):
                raise ValueError(f"parameters.{name}.draws: one draw per weight ({len(self.weights)})")
        return self


def load_posterior(path: str | Path) -> Posterior:
    """Read and validate a posterior file; a mistake is one line naming the file and the field."""
    path = Path(path)
    raw = read_toml(path)
    try:
        post = Posterior.model_validate(raw)
    except RecursionError:
        raise ScenarioError(path, "", "nested too deeply") from None
    except ValidationError as e:
        raise schema_error(path, e) from None
    return post.model_copy(update={"path": str(path)})
