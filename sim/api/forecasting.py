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
    log_floor: float | None = None,
) -> Score:
    """Score the scenario's day-by-day forecast (its run, replayed with the same seeds) against the
    observations (a file or loaded ``Observations``), beside the uniform reference and any named
    forecast in the file; the log score counts a probability below ``log_floor`` (default 0.001) as
    the floor."""
    from sim.analysis import scoring, worlds

    floor = check_floor(log_floor)
    sc = _scenario(scenario, replications, seed)
    obs = load_observations(observed, [sc]) if isinstance(observed, str | os.PathLike) else observed
    chunks = worlds.replay(sc, executor, measure_agreements=False)

    path = np.concatenate([c.path for c in chunks], axis=0)
    forecast = scoring.PathForecast(sc, compiled_space(sc), path)
    result = Score(scoring.score(sc, obs, forecast, floor), forecast, obs)
    if out is not None:
        result.write(out)
    return result


def rank_by_score(
    comparison: Comparison, obs: Any, executor: Executor | None = None, log_floor: float | None = None
) -> pd.DataFrame:
    """The compared scenarios ranked by their forecasts' scores against the observations: from the
    runs' curves when every question is about a class, else from each run replayed."""
    from sim.analysis import scoring

    floor = check_floor(log_floor)
    all_classes = all(o.class_ is not None for o in obs.observations.values())
    scores = []
    for run in comparison.runs.values():
        if all_classes:
            forecast = scoring.CurveForecast(run.scenario, run.curve, run.first)
            scores.append(scoring.score(run.scenario, obs, forecast, floor))
        else:
            scores.append(score(run.scenario, obs, executor=executor, log_floor=floor).scores)
    return scoring.rank(scores)


def check_floor(log_floor: float | None) -> float:
    """The log score's floor: a probability in (0, 1); 0.001 when not given."""
    from sim.analysis.scoring import LOG_FLOOR
    from sim.errors import UserError, show

    if log_floor is None:
        return LOG_FLOOR
    if isinstance(log_floor, bool) or not isinstance(log_floor, int | float) or not 0 < log_floor < 1:
        raise UserError(f"--log-floor must be a probability in (0, 1), e.g. 0.001 (got {show(log_floor)})")
    return float(log_floor)
