"""For forecasters: observations, and a forecast's scores against them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.api.runs import Comparison, _scenario
from sim.experiments.chunks import compiled_space
from sim.scenario import Scenario


@dataclass
class Score:
    """``negsim score``: a scenario's forecast scored against dated observations."""

    scores: Any
    forecast: Any
    observations: Any

    def report(self) -> str:
        from sim.outputs.analysis import format_scores

        return format_scores(self.scores)

    def write(self, folder: str | os.PathLike) -> list[Path]:
        from sim.outputs.analysis import write_scores

        return write_scores(Path(folder), self.scores, self.forecast, self.observations)


def load_observations(path: str | os.PathLike, scenarios: Iterable[Scenario] = ()):
    """Read and validate an observations file, checked against every scenario given."""
    from sim.scenario.observations import check_against
    from sim.scenario.observations import load_observations as _load

    obs = _load(path)
    for sc in scenarios:
        check_against(obs, sc)
    return obs


def score(
    scenario: Scenario | str | os.PathLike,
    observed: Any,
    replications: int | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
) -> Score:
    """Score the scenario's day-by-day forecast (its run, replayed with the same seeds) against the
    observations (a file or loaded ``Observations``)."""
    from sim.analysis import scoring, worlds

    sc = _scenario(scenario, replications, seed)
    obs = load_observations(observed, [sc]) if isinstance(observed, str | os.PathLike) else observed
    chunks = worlds.replay(sc, executor, measure_agreements=False)

    path = np.concatenate([c.path for c in chunks], axis=0)
    forecast = scoring.PathForecast(sc, compiled_space(sc), path)
    result = Score(scoring.score(sc, obs, forecast), forecast, obs)
    if out is not None:
        result.write(out)
    return result


def rank_by_score(comparison: Comparison, obs: Any, executor: Executor | None = None) -> pd.DataFrame:
    """The compared scenarios ranked by their forecasts' scores against the observations: from the
    runs' curves when every observation is of a class, else from each run replayed."""
    from sim.analysis import scoring

    all_classes = all(o.class_ is not None for o in obs.observations.values())
    scores = []
    for run in comparison.runs.values():
        if all_classes:
            scores.append(scoring.score(run.scenario, obs, scoring.CurveForecast(run.scenario, run.curve)))
        else:
            scores.append(score(run.scenario, obs, executor=executor).scores)
    return scoring.rank(scores)


@dataclass
class Update:
    """``negsim update``: the ensemble conditioned on the observations up to a date."""

    filtered: Any
    draws: pd.DataFrame
    best: pd.DataFrame
    command: str = "negsim trace FILE"

    def report(self) -> str:
        from sim.outputs.conditioned import format_update

        return format_update(self.filtered, self.draws, self.best, self.command)

    def write(self, folder: str | os.PathLike) -> list[Path]:
        from sim.outputs.conditioned import write_update

        return write_update(Path(folder), self.filtered, self.draws, self.best)


def _settings(observed: Any, reporting_error: float | None, ess_floor: float | None, budget: int | None):
    from sim.analysis import conditioning as C

    rate = reporting_error if reporting_error is not None else getattr(observed, "reporting_error", None)
    return C.Settings(
        reporting_error=C.DEFAULT_ERROR if rate is None else float(rate),
        ess_floor=C.DEFAULT_FLOOR if ess_floor is None else float(ess_floor),
        budget=budget,
    )


def update(
    scenario: Scenario | str | os.PathLike,
    observed: Any,
    as_of: str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    reporting_error: float | None = None,
    ess_floor: float | None = None,
    budget: int | None = None,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
) -> Update:
    """Condition the scenario's worlds on the observations dated up to ``as_of`` (all when None): a
    particle filter over worlds (``sim.analysis.conditioning``). The reporting error comes from the
    argument, else the observations file, else the stated default."""
    from sim.analysis import conditioning as C

    sc = _scenario(scenario, replications, seed)
    obs = load_observations(observed, [sc]) if isinstance(observed, str | os.PathLike) else observed
    settings = _settings(obs, reporting_error, ess_floor, budget)
    f = C.condition(sc, obs, as_of, settings, executor)
    command = f"negsim trace {sc.path or sc.name} -n {sc.replications} --seed {sc.seed}"
    result = Update(f, C.draws_table(f), C.best_worlds(f), command)
    if out is not None:
        result.write(out)
    return result


@dataclass
class Prequential:
    """``negsim score --prequential``: each observation forecast with only what was observed before it."""

    filtered: Any
    table: pd.DataFrame
    summary: pd.DataFrame

    def report(self) -> str:
        from sim.outputs.conditioned import format_prequential

        return format_prequential(self.table, self.summary)

    def write(self, folder: str | os.PathLike) -> list[Path]:
        from sim.outputs.conditioned import write_prequential

        return write_prequential(Path(folder), self.filtered, self.table, self.summary)


def prequential(
    scenario: Scenario | str | os.PathLike,
    observed: Any,
    replications: int | None = None,
    seed: int | None = None,
    reporting_error: float | None = None,
    ess_floor: float | None = None,
    budget: int | None = None,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
) -> Prequential:
    """Prequential scores (Dawid 1984): for each observation, the conditioned forecast made before its
    date, beside the static forecast of the scenario and the uniform reference."""
    from sim.analysis import conditioning as C

    sc = _scenario(scenario, replications, seed)
    obs = load_observations(observed, [sc]) if isinstance(observed, str | os.PathLike) else observed
    f = C.condition(sc, obs, None, _settings(obs, reporting_error, ess_floor, budget), executor)
    result = Prequential(f, C.prequential_table(f), C.prequential_summary(f))
    if out is not None:
        result.write(out)
    return result
