"""The Python API: load, run, compare and sweep scenarios; explain and trace them.

The command line calls exactly these, so a notebook gets the same objects and files as ``negsim``.
Each experiment returns a result object that can write itself (CSV, manifest, plots, report) to a
folder; given ``out=``, it streams its per-world outcomes there as the chunks arrive, so memory
stays flat however many replications run.
"""

from __future__ import annotations

import math
import os
import shutil
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
from sim.errors import UserError, show
from sim.experiments import budget, hypotheses, sweeps
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
]


def load_scenario(path: str | os.PathLike, root: str | os.PathLike | None = None) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file, its outcome space included.

    The file reads only inside its project folder: ``root``, or else the nearest folder above it
    that holds ``seeds/`` (see sim.scenario.files).
    """
    sc = _load_file(path, root)
    check_negotiable(sc)
    return sc


def load_scenarios(
    files: Iterable[str | os.PathLike],
    replications: int | None = None,
    seed: int | None = None,
    root: str | os.PathLike | None = None,
) -> list[Scenario]:
    """Validate every file before any work starts; apply replications and seed overrides."""
    return [with_overrides(load_scenario(f, root), replications, seed) for f in files]


def _workers(executor: Executor | None) -> int:
    return getattr(executor, "_max_workers", 1) if isinstance(executor, ProcessPoolExecutor) else 1


def explain(sc: Scenario) -> str:
    """Each party's positions with the quote or assumption behind each (``negsim explain``)."""
    return narrative.explain(sc)


FINDABLE = ("banked", "extended", "lapsed", "violated", "vetoed", "gave_up")


def trace(sc: Scenario, replication: int, as_json: bool = False) -> str:
    """World ``replication`` of the scenario's ensemble, told day by day (or as JSON)."""
    import json

    budget.check_replications(sc)
    if not 0 <= replication < sc.replications:
        raise UserError(f"--replication must be in 0..{sc.replications - 1} (got {show(replication)})")
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
    budget.check_job([sc])
    space = compiled_space(sc)
    if what not in FINDABLE and what not in space.class_order:
        allowed = show(", ".join([*FINDABLE, *space.class_order]), 200)
        raise UserError(f"--find: unknown '{show(what)}'; allowed: {allowed}")
    for chunk in launch(sc, sc.seed, sc.replications):
        if what in FINDABLE:
            hit = np.flatnonzero(chunk.counts[what] > 0)
        else:
            hit = np.flatnonzero(space.package_class[chunk.inforce] == space.class_order.index(what))
        if hit.size:
            return chunk.start + int(hit[0])
    raise UserError(f"--find {show(what)}: it happens in none of the {sc.replications:,} worlds")


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

    def write(self, folder: str | os.PathLike) -> Path:
        """Write the run's files to ``folder``, which is replaced whole (never left half-written)."""
        folder = Path(folder)
        with folders.Staging(folder) as stage:
            self._write_into(stage.path)
            return stage.commit()

    def _write_into(self, folder: Path, pool: Executor | None = None) -> Future | None:
        """The files, straight into ``folder``; with a process pool the plots are drawn there."""
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
    budget.check_job([sc], workers=_workers(executor))
    t0 = time.perf_counter()
    label = executor_label(executor)
    if out is None:
        return _collect(sc, launch(sc, sc.seed, sc.replications, executor), None, t0, label)
    folders.prepare_out(Path(out).parent)
    # Written beside the target and moved into place whole: a killed run leaves the old folder.
    with folders.Staging(out) as stage:
        result = _collect(sc, launch(sc, sc.seed, sc.replications, executor), stage.path, t0, label)
        result._write_into(stage.path)
        stage.commit()
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
        """The comparison's plots, summary.csv, hypotheses.csv, report.md and report.html in ``folder``.

        The folder is written beside its place and moved there whole.
        """
        runs = {name: (r.scenario, r.curve, r.shares) for name, r in self.runs.items()}
        verdicts = [v.as_dict() for v in self.verdicts]
        with folders.Staging(folder) as stage:
            report.write_compare(stage.path, runs, wall=self.wall, executor=self.executor, verdicts=verdicts)
            stage.commit()
        return Path(folder) / "report.html"


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
    on_saved: Callable[[Run], None] | None = None,
) -> Comparison:
    """Run several scenarios (files, folders of files, or Scenario objects) and compare them.

    Every scenario's chunks go to the executor at once; this process collects each scenario (and,
    with ``out``, writes its folder) while the workers play the next ones. With ``out``, each
    scenario's folder is ``out/<name>`` and the comparison's is ``out/compare``; each is moved into
    place whole, ``on_saved`` is called as each scenario's is, and the comparison's comes last.
    """
    scenarios = _scenarios(paths_or_scenarios, replications, seed)
    budget.check_job(scenarios, workers=_workers(executor))
    label = executor_label(executor)
    root = Path(out) if out is not None else None
    if root is not None:
        folders.prepare_out(root)
        # An earlier report goes first: a report is there only when every scenario of this run is.
        shutil.rmtree(root / "compare", ignore_errors=True)
    t0 = time.perf_counter()
    launched = [(sc, launch(sc, sc.seed, sc.replications, executor)) for sc in scenarios]
    if root is not None:
        warm_up()
    runs: dict[str, Run] = {}
    stages: list[folders.Staging] = []  # every temporary folder, discarded unless committed
    pending: list[tuple[folders.Staging, Future | None, Run]] = []

    def commit_ready(wait: bool) -> None:
        """Move each scenario folder whose plots are drawn into place, in order."""
        while pending and (wait or pending[0][1] is None or pending[0][1].done()):
            stage, drawing, result = pending.pop(0)
            if drawing is not None:
                drawing.result()
            stage.commit()
            if on_saved is not None:
                on_saved(result)

    try:
        for sc, chunks in launched:
            if root is None:
                result = _collect(sc, chunks, None, t0, label)
            else:
                stage = folders.Staging(root / sc.name)
                stages.append(stage)
                result = _collect(sc, chunks, stage.path, t0, label)
                pending.append((stage, result._write_into(stage.path, executor), result))
            runs[sc.name] = result
            if on_run is not None:
                on_run(result)
            commit_ready(wait=False)
        commit_ready(wait=True)
    finally:
        for stage in stages:
            stage.discard()
    comparison = Comparison(runs, time.perf_counter() - t0, label)
    if root is not None:
        comparison.write(root / "compare")
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
    points = math.prod(len(v) for v in vary.values())
    budget.check_job([base], points=points, workers=_workers(executor))
    t0 = time.perf_counter()
    if cache_dir is None and out is not None:
        cache_dir = Path(out) / "points"
    cache = Path(cache_dir) if cache_dir is not None else None
    if isinstance(executor, ProcessPoolExecutor):
        executor.submit(pin_threads)  # local workers start up while every point is validated here
    plan = sweeps.plan_sweep(base, vary)
    if out is not None:
        folders.prepare_out(out)  # every point is valid: now the folder may be made
    if fresh and cache is not None:
        sweeps.clear_cache(cache)
    reused = sweeps.cached_count(plan, cache)
    frame = sweeps.run_plan(plan, executor, cache_dir=cache, meanwhile=warm_up if out is not None else None)
    result = SweepResult(plan, frame, time.perf_counter() - t0, executor_label(executor), reused)
    if out is not None:
        result.write(out)
    return result
