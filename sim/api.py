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
    "Comparison",
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
    "roles",
    "play",
    "model_moves",
    "exercises",
    "exercise",
    "check_exercise",
    "worksheet",
    "debrief",
    "classroom",
    "dashboard_controls",
    "serve_dashboard",
    "fetch_dashboard_assets",
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


def trace(sc: Scenario, replication: int) -> str:
    """Round-by-round narrative of world ``replication`` of the scenario's ensemble."""
    if not 0 <= replication < sc.replications:
        raise UserError(f"--replication must be in 0..{sc.replications - 1}")
    return narrative.trace(sc, trace_model(sc, replication), replication)


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


# ---------------------------------------------------------------------------- teaching


def roles(scenario: Scenario | str | os.PathLike):
    """Role sheets: a public brief and one confidential sheet per party (``negsim roles``)."""
    from sim.teaching.roles import role_sheets

    return role_sheets(_scenario(scenario, None, None))


def play(
    scenario: Scenario | str | os.PathLike,
    party: str,
    world: int = 0,
    seed: int | None = None,
    blind: bool = False,
    moves: str | os.PathLike | Iterable[str] | None = None,
    autopilot: bool = False,
    log: str | os.PathLike | None = None,
    read: Callable[[str], str] | None = None,
    write: Callable[[str], None] = print,
):
    """Play ``party`` in world ``world`` of the scenario's ensemble (``negsim play``).

    Answers come from ``moves`` (a file or lines), else from ``read`` (the terminal by default);
    with ``autopilot`` the model's own party answers and the moves that replay it are returned in
    the result. A finished game (not an autopilot one) is appended to the class log ``log``.
    Returns the :class:`~sim.teaching.play.GameResult`, or None if the moves ran out first.
    """
    from sim.teaching import play as game

    sc = _scenario(scenario, None, seed)
    if moves is not None:
        lines = game.lines_of(moves) if isinstance(moves, str | os.PathLike) else moves
        read = game.scripted(lines, write)
    result = game.play(
        sc, party, world, read=read or game.terminal, write=write, blind=blind, autopilot=autopilot
    )
    if result is not None and log is not None and not autopilot:
        game.append_log(log, result)
        write(f"Logged to {log}")
    return result


def model_moves(scenario: Scenario | str | os.PathLike, party: str, world: int = 0, seed: int | None = None):
    """The moves that replay the model's own ``party`` in world ``world`` (a moves file's lines)."""
    from sim.teaching.play import model_moves as moves

    return moves(_scenario(scenario, None, seed), party, world)


DEFAULT_EXERCISES = Path("teaching") / "exercises"


def exercises(folder: str | os.PathLike = DEFAULT_EXERCISES):
    """The exercises under ``folder`` (``negsim exercise list``), in order."""
    from sim.teaching.exercises import find_exercises

    return find_exercises(folder)


def exercise(which: str | int, folder: str | os.PathLike = DEFAULT_EXERCISES):
    """One exercise by number or folder name (``negsim exercise show N``)."""
    from sim.teaching.exercises import pick

    return pick(exercises(folder), str(which))


def check_exercise(
    which: str | int,
    answer: Any,
    folder: str | os.PathLike = DEFAULT_EXERCISES,
    out: str | os.PathLike | None = None,
):
    """Run the model and check an answer (a value, or the path of an answer file with ``answer = ...``).

    Returns the verdict; with ``out``, the evidence plot is written there as ``check.png``.
    """
    from sim.teaching import exercises as ex

    item = exercise(which, folder)
    if isinstance(answer, Path):
        answer = ex.read_answer(answer)["answer"]
    verdict = ex.check(item, answer)
    if out is not None and verdict.evidence:
        verdict.plot_path = ex.plot(verdict, Path(out) / "check.png")
    return verdict


def worksheet(paths: Iterable[str | os.PathLike] = ("scenarios",)) -> str:
    """The prediction worksheet (Markdown) from the hypotheses of the scenarios under ``paths``."""
    from sim.teaching.worksheet import worksheet as make

    return make(load_scenarios(find_scenarios([Path(p) for p in paths])))


def debrief(
    log: str | os.PathLike,
    scenarios: Iterable[str | os.PathLike] = ("scenarios",),
    out: str | os.PathLike | None = None,
):
    """The class's games (a class log of ``negsim play``) against the simulated distribution.

    Each scenario played is found by name among ``scenarios`` (files or folders) and must be the
    file the games were played on (same hash). Returns one Debrief per scenario; with ``out``, each
    writes its handout to ``out`` (``out/<scenario>`` when the log holds several scenarios).
    """
    from sim.teaching.debrief import debrief as make
    from sim.teaching.play import read_log

    games = read_log(log)
    files = {Path(f).stem: f for f in find_scenarios([Path(p) for p in scenarios])}
    names = list(dict.fromkeys(g["scenario"] for g in games))
    results = []
    for name in names:
        if name not in files:
            raise UserError(
                f"{log}: games of '{name}', but no {name}.toml among {', '.join(map(str, scenarios))}"
            )
        result = make(load_scenario(files[name]), [g for g in games if g["scenario"] == name])
        if out is not None:
            result.write(Path(out) / name if len(names) > 1 else Path(out))
        results.append(result)
    return results


def classroom(scenario: str | os.PathLike = "scenarios/baseline.toml", replications: int = 300, **settings):
    """The dashboard's model: the scenario's ensemble under the sliders' settings, not yet stepped."""
    from sim.teaching.classroom import ClassroomModel

    return ClassroomModel(str(scenario), replications, **settings)


def dashboard_controls(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """The dashboard's sliders and selectors for a scenario (Mesa ``model_params``)."""
    from sim.teaching.classroom import controls

    return controls(scenario)


ASSETS_DIR = Path(".cache") / "solara-assets"


def dashboard_env(
    scenario: str | os.PathLike, replications: int = 300, assets: str | os.PathLike | None = None
) -> dict[str, str]:
    """The environment the dashboard server runs in: the scenario, the local front-end files, no
    telemetry. Without the asset folder (``.ci/solara-assets``) solara fetches them from its CDN."""
    assets = Path(assets) if assets is not None else ASSETS_DIR
    env = {
        **os.environ,
        "NEGSIM_DASHBOARD_SCENARIO": str(Path(scenario).resolve()),
        "NEGSIM_DASHBOARD_REPLICATIONS": str(replications),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
        "MPLBACKEND": "Agg",
    }
    if assets.is_dir():
        env["SOLARA_ASSETS_PROXY_CACHE_DIR"] = str(assets.resolve())
    return env


def serve_dashboard(
    scenario: str | os.PathLike = "scenarios/baseline.toml",
    host: str = "127.0.0.1",
    port: int = 8765,
    replications: int = 300,
    assets: str | os.PathLike | None = None,
):
    """Start the dashboard server (a child process running ``solara run sim.dashboard``); returns it."""
    import subprocess
    import sys

    load_scenario(scenario)  # a bad file is reported here, not in the browser
    cmd = [sys.executable, "-m", "solara", "run", "sim.dashboard", "--host", host, "--port", str(port)]
    cmd += ["--no-open", "--production"]
    return subprocess.Popen(cmd, env=dashboard_env(scenario, replications, assets))


def fetch_dashboard_assets(dest: str | os.PathLike = ASSETS_DIR) -> list[Path]:
    """Fetch the dashboard's front-end files once (npm pack from the npm registry) into ``dest``."""
    from sim.teaching.assets import fetch

    return fetch(dest)
