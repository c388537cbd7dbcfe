"""The Python API: load, run, compare and sweep scenarios; explain and trace them.

The command line calls exactly these, so a notebook gets the same objects and files as ``negsim``.
Each experiment returns a result object that can write itself (CSV, manifest, plots, report) to a
folder; given ``out=``, it streams its per-world outcomes there as the chunks arrive, so memory
stays flat however many replications run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.atomic import atomic_path
from sim.engine.outcomes import check_negotiable
from sim.errors import UserError
from sim.experiments import hypotheses, sweeps
from sim.experiments.chunks import ChunkResult, compiled_space, launch, trace_model
from sim.experiments.executors import default_workers, executor_for
from sim.experiments.tally import Tally, history_frame, outcomes_frame, wilson
from sim.outputs import folders, narrative, report
from sim.outputs.files import append_csv, write_csv
from sim.scenario import Scenario, find_scenarios, with_overrides
from sim.scenario import load_scenario as _load_file
from sim.threads import pin_threads

__all__ = [
    "Analysis",
    "Comparison",
    "Score",
    "Sensitivity",
    "agreement_metrics",
    "analyze",
    "load_observations",
    "rank_by_score",
    "score",
    "sensitivity",
    "Run",
    "SweepResult",
    "compare",
    "default_workers",
    "executor_for",
    "explain",
    "find_scenarios",
    "load_scenario",
    "load_scenarios",
    "run",
    "sweep",
    "trace",
]


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file, its outcome space included."""
    sc = _load_file(path)
    check_negotiable(sc)
    return sc


def load_scenarios(
    files: Iterable[str | os.PathLike], replications: int | None = None, seed: int | None = None
) -> list[Scenario]:
    """Validate every file before any work starts; apply replications and seed overrides."""
    return [with_overrides(load_scenario(f), replications, seed) for f in files]


def explain(sc: Scenario) -> str:
    """Each party's positions with the quote or assumption behind each (``negsim explain``)."""
    return narrative.explain(sc)


FINDABLE = ("banked", "extended", "lapsed", "violated", "vetoed", "gave_up")


def trace(sc: Scenario, replication: int, as_json: bool = False) -> str:
    """World ``replication`` of the scenario's ensemble, told day by day (or as JSON)."""
    import json

    if not 0 <= replication < sc.replications:
        raise UserError(f"--replication must be in 0..{sc.replications - 1}")
    model = trace_model(sc, replication)
    if as_json:
        return json.dumps(narrative.trace_record(sc, model, replication), indent=2, default=_plain)
    return narrative.trace(sc, model, replication)


def _plain(value: Any) -> Any:
    """NumPy scalars in a transcript, as JSON numbers."""
    return value.item() if hasattr(value, "item") else str(value)


def find_world(sc: Scenario, what: str) -> int:
    """The first world of the ensemble where ``what`` happened: an event (vetoed, lapsed, violated,
    extended, banked, gave_up) or an outcome class in force at the horizon (e.g. no_agreement)."""
    space = compiled_space(sc)
    if what not in FINDABLE and what not in space.class_order:
        allowed = ", ".join([*FINDABLE, *space.class_order])
        raise UserError(f"--find: unknown '{what}'; allowed: {allowed}")
    for chunk in launch(sc, sc.seed, sc.replications):
        if what in FINDABLE:
            hit = np.flatnonzero(chunk.counts[what] > 0)
        else:
            hit = np.flatnonzero(space.package_class[chunk.inforce] == space.class_order.index(what))
        if hit.size:
            return chunk.start + int(hit[0])
    raise UserError(f"--find {what}: it happens in none of the {sc.replications:,} worlds")


def executor_label(executor: Executor | None) -> str:
    if executor is None:
        return "local x1"
    if isinstance(executor, ProcessPoolExecutor):
        return f"local x{executor._max_workers}"
    return type(executor).__name__


# ---------------------------------------------------------------------------- one run


@dataclass
class Run:
    """One scenario's ensemble: shares of each class in force at the horizon, the day-by-day curve,
    the per-round series of the DataCollector, and the run's provenance.

    ``outcomes`` (one row per world) and ``history`` (one row per event) are held only when no
    folder was streamed to.
    """

    scenario: Scenario
    curve: pd.DataFrame
    shares: pd.DataFrame
    wall: float
    executor: str
    outcomes: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    series: pd.DataFrame | None = None

    def manifest(self) -> dict[str, Any]:
        return folders.run_manifest(self.scenario, self.wall, self.executor)

    def write(self, folder: str | os.PathLike, pool: Executor | None = None) -> Future | None:
        """Write the run's files to ``folder``; with a process pool the plots are drawn there."""
        folder = Path(folder)
        if self.outcomes is not None:
            write_csv(folder / "outcomes.csv", self.outcomes)
        if self.history is not None:
            write_csv(folder / "history.csv", self.history)
        if self.series is not None:
            write_csv(folder / "series.csv", self.series)
        return folders.write_run(folder, self.scenario, self.curve, self.shares, self.manifest(), pool)


def progress_bar(total: int, desc: str):
    """A tqdm bar on a terminal; nothing at all when output is not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rep", disable=None, leave=False)


def _collect(
    sc: Scenario, chunks: Iterator[ChunkResult], out: Path | None, started: float, label: str
) -> Run:
    """Count every chunk; hold the per-world tables, or stream them to ``out`` as they come."""
    space = compiled_space(sc)
    tally = Tally(space)
    held: list[ChunkResult] = []
    with progress_bar(sc.replications, sc.name) as bar:
        if out is None:
            for chunk in chunks:
                held.append(chunk)
                tally.add_chunk(chunk)
                bar.update(chunk.size)
        else:
            with (
                atomic_path(out / "outcomes.csv") as tmp,
                open(tmp, "w", newline="") as f,
                atomic_path(out / "history.csv") as tmp_h,
                open(tmp_h, "w", newline="") as g,
            ):
                for i, chunk in enumerate(chunks):
                    append_csv(f, outcomes_frame(space, [chunk]), header=i == 0)
                    append_csv(g, history_frame(space, [chunk]), header=i == 0)
                    tally.add_chunk(chunk)
                    bar.update(chunk.size)
    outcomes = outcomes_frame(space, held) if out is None else None
    history = history_frame(space, held) if out is None else None
    wall = time.perf_counter() - started
    return Run(sc, tally.curve(), tally.shares(), wall, label, outcomes, history, tally.series())


def _scenario(scenario: Scenario | str | os.PathLike, replications: int | None, seed: int | None) -> Scenario:
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return with_overrides(sc, replications, seed)


def run(
    scenario: Scenario | str | os.PathLike,
    replications: int | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
) -> Run:
    """Run one scenario (on ``executor``, in this process when None); write to ``out`` if given."""
    sc = _scenario(scenario, replications, seed)
    t0 = time.perf_counter()
    folder = Path(out) if out is not None else None
    result = _collect(
        sc, launch(sc, sc.seed, sc.replications, executor), folder, t0, executor_label(executor)
    )
    if folder is not None:
        result.write(folder)
    return result


# ---------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """Several scenarios' runs side by side; ``table`` has one row per scenario and outcome."""

    runs: dict[str, Run]
    wall: float
    executor: str

    @property
    def table(self) -> pd.DataFrame:
        frames = [r.shares.assign(scenario=name) for name, r in self.runs.items()]
        out = pd.concat(frames, ignore_index=True)
        return out[["scenario", *[c for c in out.columns if c != "scenario"]]]

    @property
    def verdicts(self) -> list[hypotheses.Verdict]:
        """Each scenario's ``expect`` checked against the scenario it extends (when both ran)."""
        return hypotheses.check({name: (r.scenario, r.curve) for name, r in self.runs.items()})

    def write(self, folder: str | os.PathLike) -> Path:
        """The comparison's plots, summary.csv, hypotheses.csv, report.md and report.html in ``folder``."""
        runs = {name: (r.scenario, r.curve, r.shares) for name, r in self.runs.items()}
        verdicts = [v.as_dict() for v in self.verdicts]
        return report.write_compare(
            Path(folder), runs, wall=self.wall, executor=self.executor, verdicts=verdicts
        )


def warm_up() -> None:
    """Load the libraries that summarise and plot while the workers play the first chunks."""
    import numpy as np

    from sim.outputs import plots

    wilson(np.array([0]), 1)
    plots.class_colours([])


def compare(
    paths_or_scenarios: Scenario | str | os.PathLike | Iterable[Scenario | str | os.PathLike],
    replications: int | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
    on_run: Callable[[Run], None] | None = None,
) -> Comparison:
    """Run several scenarios (files, folders of files, or Scenario objects) and compare them.

    Every scenario's chunks go to the executor at once; this process collects each scenario (and,
    with ``out``, writes its folder) while the workers play the next ones. With ``out``, each
    scenario's folder is ``out/<name>`` and the comparison's is ``out/compare``.
    """
    scenarios = _scenarios(paths_or_scenarios, replications, seed)
    label = executor_label(executor)
    t0 = time.perf_counter()
    launched = [(sc, launch(sc, sc.seed, sc.replications, executor)) for sc in scenarios]
    if out is not None:
        warm_up()
    runs: dict[str, Run] = {}
    drawing: list[Future] = []
    for sc, chunks in launched:
        folder = Path(out) / sc.name if out is not None else None
        result = _collect(sc, chunks, folder, t0, label)
        if folder is not None and (f := result.write(folder, executor)) is not None:
            drawing.append(f)
        runs[sc.name] = result
        if on_run is not None:
            on_run(result)
    for f in drawing:
        f.result()
    comparison = Comparison(runs, time.perf_counter() - t0, label)
    if out is not None:
        comparison.write(Path(out) / "compare")
    return comparison


def _scenarios(items, replications: int | None, seed: int | None) -> list[Scenario]:
    """Scenario objects as given; paths loaded and folders expanded as ``negsim compare`` does."""
    if isinstance(items, Scenario | str | os.PathLike):
        items = [items]
    out = []
    for item in items:
        if isinstance(item, Scenario):
            out.append(with_overrides(item, replications, seed))
        else:
            out.extend(load_scenarios(find_scenarios([Path(item)]), replications, seed))
    return out


# ---------------------------------------------------------------------------- sweep


@dataclass
class SweepResult:
    """A scenario run over a grid: one row per grid point and outcome in ``frame``."""

    plan: sweeps.Plan
    frame: pd.DataFrame
    wall: float
    executor: str
    reused: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        base = folders.run_manifest(self.plan.base, self.wall, self.executor)
        return base | sweeps.grid_meta(self.plan) | {"points_reused": self.reused}

    def write(self, folder: str | os.PathLike) -> list[Path]:
        """sweep.csv, the curves or heatmaps, manifest.json and report.html in ``folder``."""
        return folders.write_sweep(Path(folder), self.plan, self.frame, self.manifest())


parse_vary = sweeps.vary_from_specs


def sweep(
    scenario: Scenario | str | os.PathLike,
    vary: Mapping[str, Sequence[float]],
    replications: int | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    fresh: bool = False,
) -> SweepResult:
    """Run a scenario over a grid: ``vary = {"levers.us_sanctions.strength": [0, 0.05, 0.1]}``.

    Each finished point is kept in ``cache_dir`` (``out/points`` when writing to ``out``), so an
    interrupted sweep resumes there; ``fresh`` forgets earlier points first.
    """
    base = _scenario(scenario, replications, seed)
    t0 = time.perf_counter()
    if cache_dir is None and out is not None:
        cache_dir = Path(out) / "points"
    cache = Path(cache_dir) if cache_dir is not None else None
    if isinstance(executor, ProcessPoolExecutor):
        executor.submit(pin_threads)  # local workers start up while every point is validated here
    plan = sweeps.plan_sweep(base, vary)
    if fresh and cache is not None:
        sweeps.clear_cache(cache)
    reused = sweeps.cached_count(plan, cache)
    frame = sweeps.run_plan(plan, executor, cache_dir=cache, meanwhile=warm_up if out is not None else None)
    result = SweepResult(plan, frame, time.perf_counter() - t0, executor_label(executor), reused)
    if out is not None:
        result.write(out)
    return result


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
    import numpy as np

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


def agreement_metrics(scenarios: Iterable[Scenario], executor: Executor | None = None) -> pd.DataFrame:
    """One row per scenario: how its simulated agreements compare with bargaining theory (mean gains
    and welfare, share Pareto-optimal, share at the world's Nash package, mean distances to the
    frontier and to the Nash package), for the comparison report."""
    from sim.analysis import worlds

    rows = [
        worlds.agreement_summary(sc, worlds.agreements_frame(worlds.replay(sc, executor))) for sc in scenarios
    ]
    return pd.concat(rows, ignore_index=True)
