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
from sim.errors import UserError, show
from sim.experiments.chunks import compiled_space
from sim.scenario import Scenario
from sim.scenario.posterior import particles_of


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
    if particles_of(sc) is None:
        path = np.concatenate([c.path for c in worlds.replay(sc, executor, measure_agreements=False)])
    else:  # calibrated: each world plays with the values of the particle it draws
        from sim.experiments.forks import Lineage
        from sim.experiments.mixture import run_generation

        path = run_generation(sc, Lineage(sc.seed, sc.replications), executor)
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
    log_floor: float | None = None,
) -> Prequential:
    """Prequential scores (Dawid 1984): for each observation, the conditioned forecast made before its
    date, beside the static forecast of the scenario, the uniform reference and the file's named
    forecasts; the log score floors probabilities at ``log_floor`` (default 0.001)."""
    from dataclasses import replace

    from sim.analysis import conditioning as C

    floor = check_floor(log_floor)
    sc = _scenario(scenario, replications, seed)
    obs = load_observations(observed, [sc]) if isinstance(observed, str | os.PathLike) else observed
    settings = replace(_settings(obs, reporting_error, ess_floor, budget), log_floor=floor)
    f = C.condition(sc, obs, None, settings, executor)
    result = Prequential(f, C.prequential_table(f), C.prequential_summary(f))
    if out is not None:
        result.write(out)
    return result


def with_posterior(scenario: Scenario, posterior: str | os.PathLike) -> Scenario:
    """The scenario with the calibrated assumptions of a posterior file (``negsim calibrate``): each
    world draws one of the accepted particles by its weight and plays with its values."""
    from sim.analysis.calibration import apply_posterior
    from sim.scenario.posterior import load_posterior

    return apply_posterior(scenario, load_posterior(posterior))


@dataclass
class Calibrated:
    """``negsim calibrate``: the scenario's assumptions revised against the observations (ABC-SMC)."""

    calibration: Any
    table: pd.DataFrame
    predictive: pd.DataFrame
    manifest: dict

    def report(self) -> str:
        from sim.outputs.calibrated import format_calibration

        return format_calibration(self.calibration, self.table, self.predictive)

    def write(self, folder: str | os.PathLike) -> list[Path]:
        from sim.outputs.calibrated import write_calibration

        return write_calibration(Path(folder), self.calibration, self.table, self.predictive, self.manifest)


def calibrate(
    scenario: Scenario | str | os.PathLike,
    observed: Any,
    params: Iterable[str] = (),
    population: int = 100,
    generations: int = 4,
    worlds: int = 20,
    check_worlds: int = 400,
    seed: int | None = None,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
    fresh: bool = False,
    command: str | None = None,
    method: str = "reports",
    reporting_error: float | None = None,
) -> Calibrated:
    """ABC-SMC through pyabc over the scenario's assumptions ``params`` (dotted paths; ``PATH=LO:HI``
    for a range; default: each party's margin and concession), ``worlds`` simulated worlds per
    particle; the history in SQLite under ``out`` (resumed unless ``fresh``), the posterior file and
    tables beside it. Deterministic for a seed whatever the executor. ``method``: ``reports`` (exact
    under the reporting error: the argument, else the observations file's, else 0.05) or ``brier``
    (a tolerance on the mean Brier score)."""
    import platform
    import tempfile
    import time

    from sim import __version__
    from sim.analysis import calibration as K
    from sim.analysis import conditioning as C
    from sim.outputs.files import versions

    sc = _scenario(scenario, None, seed)
    obs = load_observations(observed, [sc]) if isinstance(observed, str | os.PathLike) else observed
    plist = K.parse_params(sc, list(params))
    error = C.check_error(_settings(obs, reporting_error, None, None).reporting_error)  # before any file
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="negsim-abc-"))
    if not fresh:
        _same_acceptance(folder, method, error)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cal = K.calibrate(
        sc,
        obs,
        plist,
        folder / "history.db",
        population=population,
        generations=generations,
        worlds=worlds,
        seed=sc.seed,
        map_=executor.map if executor is not None else map,
        fresh=fresh,
        method=method,
        reporting_error=error,
    )
    table = K.prior_posterior(cal)
    ppc = K.predictive_check(cal, worlds=check_worlds)
    manifest = {
        "command": command,
        "scenario": sc.name,
        "scenario_sha256": sc.sha256,
        "observations": obs.path,
        "seed": sc.seed,
        "parameters": [p.path for p in plist],
        "population": population,
        "generations": generations,
        "worlds_per_particle": worlds,
        "method": method,
        "reporting_error": cal.reporting_error if method == "reports" else None,
        "sampler": "pyabc MappingSampler with one seed per particle evaluation (deterministic)",
        "executor": _executor_name(executor),
        "history": "history.db",
        "simulated_parameter_sets": int(cal.populations["samples"].sum()),
        "abc_seconds": round(cal.seconds, 3),
        "seconds": round(time.perf_counter() - t0, 3),
        "negsim": __version__,
        "python": platform.python_version(),
        "versions": versions() | {"pyabc": _version("pyabc")},
    }
    result = Calibrated(cal, table, ppc, manifest)
    if out is not None:
        result.write(folder)
    return result


def _same_acceptance(folder: Path, method: str, error: float) -> None:
    """A history is resumed only under the acceptance it was made with (its manifest says which;
    histories from before the exact method were made with the Brier tolerance)."""
    import json

    manifest = folder / "manifest.json"
    if not (folder / "history.db").exists() or not manifest.exists():
        return
    try:
        made = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return  # unreadable: pyabc's own load says what is wrong with the history
    then = (made.get("method", "brier"), made.get("reporting_error"))
    now = (method, error if method == "reports" else None)
    if then != now:
        was = then[0] + (f" (reporting error {then[1]:g})" if then[1] is not None else "")
        raise UserError(
            f"{show(folder / 'history.db')} was made with --method {was}: resume it with the same "
            "method, or start over with --fresh"
        )


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def _executor_name(executor: Executor | None) -> str:
    from sim.api.runs import executor_label

    return executor_label(executor)


def explain_posterior(scenario: Scenario, posterior: str | os.PathLike) -> str:
    """Each calibrated value: in the file, prior, posterior, and the observations behind it."""
    from sim.errors import show
    from sim.scenario.posterior import load_posterior

    post = load_posterior(posterior)
    lines = [
        "",
        f"calibrated by {show(Path(posterior).name)} (negsim calibrate) on the observations of "
        f"{show(post.observations)}: {', '.join(post.observation_ids)}",
    ]
    if post.scenario_sha256 != scenario.sha256:
        lines.append(
            f"  (calibrated on {show(post.scenario)}, a scenario whose content differs from this one)"
        )
    for path, p in post.parameters.items():
        prior = f"normal({p.a:g}, sd {p.b:g})" if p.prior == "normal" else f"uniform({p.a:g} to {p.b:g})"
        lines.append(
            f"  {path}: {p.in_file:g} in the file, prior {prior} -> posterior {p.posterior_mean:.4g} "
            f"(sd {p.posterior_sd:.3g}) [calibrated: observations {', '.join(post.observation_ids)}]"
        )
    return "\n".join(lines)


def check_floor(log_floor: float | None) -> float:
    """The log score's floor: a probability in (0, 1); 0.001 when not given."""
    from sim.analysis.scoring import LOG_FLOOR
    from sim.errors import UserError, show

    if log_floor is None:
        return LOG_FLOOR
    if isinstance(log_floor, bool) or not isinstance(log_floor, int | float) or not 0 < log_floor < 1:
        raise UserError(f"--log-floor must be a probability in (0, 1), e.g. 0.001 (got {show(log_floor)})")
    return float(log_floor)
