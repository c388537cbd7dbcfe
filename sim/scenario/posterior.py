"""Posterior files: what ``negsim calibrate`` learnt about a scenario's assumptions.

TOML, written by ``calibrate`` and read by ``run``, ``compare``, ``score``, ``update`` and ``explain``
with ``--posterior FILE``, checked as strictly as a scenario file (one-line errors naming the field).
The file keeps the accepted particles (``draws`` and ``weights``): a calibrated run draws each world's
values of the calibrated assumptions from them (:class:`Particles`); the means and sds are summaries
for readers. A file without the particles (means and sds only) is refused::

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

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from sim.errors import ScenarioError
from sim.scenario.loading import read_toml, schema_error
from sim.scenario.schema import Scenario, Strict

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


@dataclass(frozen=True)
class Particles:
    """A calibration's accepted particles: row k holds particle k's value of each of ``paths``, drawn
    by a world with probability ``weights[k]``. ``source`` names the file for manifests."""

    paths: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]
    weights: tuple[float, ...]
    source: str = ""

    @property
    def key(self) -> str:
        """A digest of the particles (their content, not their file)."""
        return hashlib.sha256(repr((self.paths, self.values, self.weights)).encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        """What a manifest records of a calibrated run."""
        return {
            "file": self.source,
            "parameters": list(self.paths),
            "particles": len(self.weights),
            "particles_sha256": self.key,
            "draw": "each world draws one particle by its weight (its own stream) and plays with its values",
        }


def particles(post: Posterior) -> Particles:
    """The accepted particles of a posterior file."""
    paths = tuple(post.parameters)
    rows = tuple(zip(*(post.parameters[p].draws for p in paths), strict=True))
    return Particles(paths, rows, tuple(post.weights), Path(post.path).name)


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


def particles_of(sc: Scenario) -> Particles | None:
    """The particles a calibrated scenario's worlds draw from (None: the file's own values)."""
    return getattr(sc, "_particles", None)


def with_particles(sc: Scenario, parts: Particles | None) -> Scenario:
    """The scenario whose worlds each draw their values of the calibrated assumptions from ``parts``."""
    out = sc.model_copy()
    out._particles = parts
    return out
