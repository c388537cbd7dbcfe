"""For modellers: the bargaining problem against theory, and sensitivity to the stated uncertainty."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.api.runs import _scenario, _workers, executor_label
from sim.errors import UserError, show
from sim.experiments import budget, sweeps
from sim.scenario import Scenario

# ---------------------------------------------------------------------------- analysis


@dataclass
class Analysis:
    """``negsim analyze``: the bargaining problem on the mean parameters, day by day, and the
    simulated agreements of a run, each measured in its own world's problem."""

    means: Any
    agreements: pd.DataFrame | None
    summary: pd.DataFrame | None
    wall: float

    def report(self) -> str:
        from sim.outputs.analysis import format_analysis

        return format_analysis(self.means, self.summary)

    def write(self, folder: str | os.PathLike) -> list[Path]:
        from sim.outputs.analysis import write_analysis

        return write_analysis(Path(folder), self.means, self.agreements, self.summary)


MAX_DAYS = 400  # distinct days one analysis may tabulate (a horizon of a year and some)


def analyze(
    scenario: Scenario | str | os.PathLike,
    replications: int | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    days: Sequence[int] | None = None,
    simulate: bool = True,
    out: str | os.PathLike | None = None,
) -> Analysis:
    """Zone of agreement, Pareto frontier, Nash, Kalai-Smorodinsky and maximum-welfare packages on
    the mean parameters (on ``days``; default: see ``sim.analysis.worlds.analysis_days``), and, with
    ``simulate``, the scenario's run replayed to measure every simulated agreement against theory."""
    from sim.analysis import worlds

    sc = _scenario(scenario, replications, seed)
    t0 = time.perf_counter()
    horizon = sc.calendar.horizon_days
    if days is not None and any(not 0 <= d <= horizon for d in days):
        raise UserError(f"--days must lie in 0..{horizon} (the horizon)")
    if days is not None:
        days = sorted(set(days))
        if not 1 <= len(days) <= MAX_DAYS:
            raise UserError(f"--days: give 1 to {MAX_DAYS} days in 0..{horizon}, e.g. 0,28,56")
    budget.check_analysis(sc, simulate, _workers(executor))
    means = worlds.analyse_means(sc, list(days) if days is not None else None)
    agreements = summary = None
    if simulate:
        agreements = worlds.agreements_frame(worlds.replay(sc, executor))
        summary = worlds.agreement_summary(sc, agreements)
    result = Analysis(means, agreements, summary, time.perf_counter() - t0)
    if out is not None:
        result.write(out)
    return result


@dataclass
class Sensitivity:
    """``negsim sensitivity``: the tornado of every (or the chosen) parameter, and a screening."""

    tornado: Any
    screening: Any | None
    wall: float
    executor: str

    def report(self, top: int = 15) -> str:
        from sim.outputs.analysis import format_sensitivity

        return format_sensitivity(self.tornado, self.screening, top)

    def write(self, folder: str | os.PathLike) -> list[Path]:
        from sim.outputs.analysis import write_sensitivity

        return write_sensitivity(Path(folder), self.tornado, self.screening)


MAX_SCREENED = 64  # parameters a screening moves at once
MAX_TRAJECTORIES = 1_000  # Morris trajectories (each is k + 1 runs of the scenario)
MAX_BASE_SAMPLES = 2**14  # Sobol' base samples (each is k + 2 runs)


def sensitivity(
    scenario: Scenario | str | os.PathLike,
    params: Sequence[str] | None = None,
    method: str | None = "morris",
    share: float = 0.1,
    screen_top: int = 8,
    trajectories: int = 10,
    base_samples: int = 64,
    replications: int | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    fresh: bool = False,
) -> Sensitivity:
    """Tornado over ``params`` (default: every parameter of a world), then a Morris (or Sobol')
    screening of ``params`` when given, else of the ``screen_top`` parameters with the largest
    tornado effects (``method=None``: no screening). Every point runs with the scenario's seed and is
    cached in ``cache_dir`` (``out/points`` when writing to ``out``), so a rerun resumes."""
    from sim.analysis import sensitivity as S

    sc = _scenario(scenario, replications, seed)
    if not 0 < share <= 1:
        raise UserError("--share must be in (0, 1]")
    if method is not None and not params and not 1 <= screen_top <= MAX_SCREENED:
        raise UserError(f"--top must be in 1..{MAX_SCREENED} (got {show(screen_top)})")
    if method == "morris" and not 1 <= trajectories <= MAX_TRAJECTORIES:
        raise UserError(f"--trajectories must be in 1..{MAX_TRAJECTORIES} (got {show(trajectories)})")
    if method == "sobol" and (not 2 <= base_samples <= MAX_BASE_SAMPLES or base_samples & (base_samples - 1)):
        raise UserError(
            f"--samples must be a power of 2 in 2..{MAX_BASE_SAMPLES:,} (got {show(base_samples)})"
        )
    if params and len(params) > MAX_SCREENED:
        raise UserError(f"--params: at most {MAX_SCREENED} paths (got {len(params)})")
    raw = sweeps.scenario_raw(sc)
    for p in params or ():
        sweeps.numeric_kind(raw, p)  # a one-line error for a bad path, before any work
    t0 = time.perf_counter()
    if cache_dir is None and out is not None:
        cache_dir = Path(out) / "points"
    cache = Path(cache_dir) if cache_dir is not None else None
    if fresh and cache is not None:
        sweeps.clear_cache(cache)
    with progress_points(f"{sc.name} tornado") as bar:
        tor = S.tornado(sc, params, share, executor, cache, bar.update)
    screening = None
    if method is not None:
        if params:
            chosen = tor.moves
        else:
            order = list(tor.bars()["path"][:screen_top])
            chosen = [m for p in order for m in tor.moves if m.path == p]
        with progress_points(f"{sc.name} {method}") as bar:
            screening = S.screen(sc, chosen, method, trajectories, base_samples, executor, cache, bar.update)
    result = Sensitivity(tor, screening, time.perf_counter() - t0, executor_label(executor))
    if out is not None:
        result.write(out)
    return result


def progress_points(desc: str):
    from tqdm import tqdm

    return tqdm(desc=desc, unit="pt", disable=None, leave=False)


def agreement_metrics(scenarios: Iterable[Scenario], executor: Executor | None = None) -> pd.DataFrame:
    """One row per scenario: how its simulated agreements compare with bargaining theory (mean gains
    and welfare, share Pareto-optimal, share at the world's Nash package, mean distances to the
    frontier and to the Nash package), for the comparison report."""
    from sim.analysis import worlds

    rows = [
        worlds.agreement_summary(sc, worlds.agreements_frame(worlds.replay(sc, executor))) for sc in scenarios
    ]
    return pd.concat(rows, ignore_index=True)
