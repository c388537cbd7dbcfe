"""The analyst's core: load, run, compare and sweep scenarios; explain and trace them.

Each experiment returns a result object that can write itself (CSV, manifest, plots, report) to a
folder; given ``out=``, it streams its per-world outcomes there as the chunks arrive, so memory
stays flat however many replications run.
"""

from __future__ import annotations

import math
import os
import shutil
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import bundled
from sim.atomic import atomic_path, write_json
from sim.engine.outcomes import check_negotiable
from sim.errors import UserError, show
from sim.experiments import budget, hypotheses, inert, sweeps
from sim.experiments.chunks import ChunkResult, compiled_space
from sim.experiments.mixture import launch, trace_model
from sim.experiments.tally import Tally, history_frame, outcomes_frame, wilson
from sim.outputs import folders, headline, narrative, report
from sim.outputs.files import DIFFERENCE_INTERVALS, INTERVALS, append_csv, environment, write_csv
from sim.scenario import Scenario, find_scenarios, with_overrides
from sim.scenario import load_scenario as _load_file
from sim.threads import pin_threads

RESERVED = ("any_agreement",)  # outcome ids the outputs use for totals


def load_scenario(path: str | os.PathLike, root: str | os.PathLike | None = None) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file, its outcome space included.

    The file reads only inside its project folder: ``root``, or else the nearest folder above it
    that holds ``seeds/`` (see sim.scenario.files).
    """
    if Path(path).is_dir():
        raise UserError(
            f"{show(path, 120)} is a folder; give one scenario file (negsim compare takes folders)"
        )
    sc = _load_file(path, root)
    for cid in RESERVED:
        if cid in sc.classes:
            raise UserError(f"{sc.path}: classes.{cid}: is reserved for the total of every deal class")
    check_negotiable(sc)
    return sc


# ---------------------------------------------------------------------------- bundled scenarios


def bundled_scenarios() -> Path:
    """The folder of scenarios installed with negsim (the seeds are beside it, in ``seeds/``)."""
    return bundled.scenarios_dir()


def scenario_paths(paths: Sequence[str | os.PathLike] = ()) -> tuple[list[Path], str | None]:
    """Scenario files for ``paths`` (files or folders), and a note when bundled ones stand in.

    With no paths: ``scenarios/`` in the working folder if there is one, else the bundled scenarios.
    A name that is no file here but names a bundled scenario (``baseline`` or ``baseline.toml``) is
    that scenario.
    """
    if not paths:
        here = Path("scenarios")
        if here.is_dir():
            return find_scenarios([here]), None
        folder = bundled_scenarios()
        note = (
            f"no scenarios/ folder here: using the {len(list(folder.glob('*.toml')))} scenarios installed "
            "with negsim (negsim init DIR copies them out for editing)"
        )
        return find_scenarios([folder]), note
    resolved, notes = [], []
    for p in map(Path, paths):
        if not p.exists() and p.parent == Path("."):
            candidate = bundled_scenarios() / (p.name if p.suffix == ".toml" else f"{p.name}.toml")
            if candidate.is_file():
                notes.append(p.name)
                p = candidate
        resolved.append(p)
    note = f"using the installed scenario {', '.join(notes)}" if notes else None
    return find_scenarios(resolved), note


def init(folder: str | os.PathLike) -> list[Path]:
    """Copy the bundled scenarios and seeds to ``folder/scenarios`` and ``folder/seeds`` for editing."""
    return bundled.copy_out(folder)


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
    if what not in FINDABLE and what not in space.class_order or not what:
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
    the per-day series of the DataCollector, and the run's provenance.

    ``outcomes`` (one row per world) and ``history`` (one row per event) are held only when no
    folder was streamed to.
    """

    scenario: Scenario
    curve: pd.DataFrame
    shares: pd.DataFrame
    wall: float | None  # this run's elapsed time; None when it ran together with others
    executor: str
    outcomes: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    series: pd.DataFrame | None = None
    compute: float = 0.0  # time its chunks took where they ran, summed
    command: str | None = None
    first: pd.DataFrame | None = None  # per day and deal class: share of worlds where it has been in force

    def manifest(self) -> dict[str, Any]:
        return folders.run_manifest(self.scenario, self.wall, self.executor, self.compute, self.command)

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
        return folders.write_run(
            folder, self.scenario, self.curve, self.shares, self.manifest(), pool, first=self.first
        )


def progress_bar(total: int, desc: str):
    """A tqdm bar on a terminal; nothing at all when output is not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rep", disable=None, leave=False)


def _collect(
    sc: Scenario,
    chunks: Iterator[ChunkResult],
    out: Path | None,
    started: float | None,
    label: str,
    command: str | None = None,
) -> Run:
    """Count every chunk; hold the per-world tables, or stream them to ``out`` as they come.

    ``started``: when this run alone began (None inside a comparison: no wall time of its own).
    """
    space = compiled_space(sc)
    tally = Tally(space)
    held: list[ChunkResult] = []
    compute = 0.0
    with progress_bar(sc.replications, sc.name) as bar:
        if out is None:
            for chunk in chunks:
                held.append(chunk)
                tally.add_chunk(chunk)
                compute += chunk.seconds
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
                    compute += chunk.seconds
                    bar.update(chunk.size)
    outcomes = outcomes_frame(space, held) if out is None else None
    history = history_frame(space, held) if out is None else None
    wall = None if started is None else time.perf_counter() - started
    return Run(
        sc,
        tally.curve(),
        tally.shares(),
        wall,
        label,
        outcomes=outcomes,
        history=history,
        series=tally.series(),
        compute=compute,
        command=command,
        first=tally.first(),
    )


def _scenario(scenario: Scenario | str | os.PathLike, replications: int | None, seed: int | None) -> Scenario:
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return with_overrides(sc, replications, seed)


def run(
    scenario: Scenario | str | os.PathLike,
    replications: int | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    out: str | os.PathLike | None = None,
    command: str | None = None,
) -> Run:
    """Run one scenario (on ``executor``, in this process when None); write to ``out`` if given.

    ``command`` is recorded in the manifest (the command line that asked for the run, if any).
    """
    sc = _scenario(scenario, replications, seed)
    budget.check_job([sc], workers=_workers(executor))
    t0 = time.perf_counter()
    label = executor_label(executor)
    if out is None:
        return _collect(sc, launch(sc, sc.seed, sc.replications, executor), None, t0, label, command)
    folders.prepare_out(Path(out).parent)
    # Written beside the target and moved into place whole: a killed run leaves the old folder.
    with folders.Staging(out) as stage:
        result = _collect(sc, launch(sc, sc.seed, sc.replications, executor), stage.path, t0, label, command)
        result._write_into(stage.path)
        stage.commit()
    return result


# ---------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """Several scenarios' runs side by side; ``table`` has one row per scenario and outcome.

    ``reference`` names the run the others are compared with, and ``why`` says how it was chosen.
    ``checks`` are the scenarios' hypotheses (``expect``) tested against the scenario each extends:
    held / contrary / inconclusive with the numbers; ``verdicts`` the same as the headline shows them.
    """

    runs: dict[str, Run]
    wall: float
    executor: str
    reference: str = ""
    why: str = ""
    command: str | None = None

    def __post_init__(self) -> None:
        if not self.reference:
            self.reference = report.baseline_name(self._triples())
            self.why = self.why or "the scenario named baseline, or the first"

    def _triples(self) -> dict[str, tuple[Scenario, pd.DataFrame, pd.DataFrame]]:
        return {name: (r.scenario, r.curve, r.shares) for name, r in self.runs.items()}

    @property
    def firsts(self) -> dict[str, pd.DataFrame]:
        """Each run's first-in-force curves (per day and deal class)."""
        return {name: r.first for name, r in self.runs.items()}

    @property
    def table(self) -> pd.DataFrame:
        """One row per scenario and outcome (the classes, then the total ``any_agreement``), with
        the difference from the reference."""
        return report.summary_frame(self._triples(), self.reference)

    @property
    def questions(self) -> pd.DataFrame:
        """The reference's question answered by every scenario: its class first in force by each day
        (``kind`` first_by) and in force on the last (in_force_on), with the difference from the
        reference; summary.csv leads with these rows."""
        runs = self._triples()
        head = headline.build(runs, self.table, self.reference, self.why, (), self.firsts)
        return report.question_frame(head.question)

    def manifest(self) -> dict[str, Any]:
        """What was compared and how to rerun it; each scenario's own manifest is in its folder."""
        return {
            "command": self.command,
            "scenarios": list(self.runs),
            "reference": self.reference,
            "reference_why": self.why,
            "intervals": INTERVALS,
            "difference_intervals": DIFFERENCE_INTERVALS,
            "executor": self.executor,
            "wall_seconds": round(self.wall, 3),
            "compute_seconds": {name: round(r.compute, 3) for name, r in self.runs.items()},
            "seeds": {name: r.scenario.seed for name, r in self.runs.items()},
            "replications": {name: r.scenario.replications for name, r in self.runs.items()},
            "scenario_sha256": {name: r.scenario.sha256 for name, r in self.runs.items()},
        } | environment()

    def headline(self, width: int = 100) -> str:
        """The answer as plain text no wider than ``width``: what ``negsim compare`` prints."""
        summary = report.summary_frame(self._triples(), self.reference)
        head = headline.build(self._triples(), summary, self.reference, self.why, self.verdicts, self.firsts)
        return headline.headline_text(head, width)

    @property
    def checks(self) -> list[hypotheses.Verdict]:
        """Each scenario's ``expect`` checked against the scenario it extends (when both ran)."""
        return hypotheses.check({name: (r.scenario, r.curve) for name, r in self.runs.items()})

    @property
    def verdicts(self) -> list[headline.Verdict]:
        """The checks as the headline shows them, with the numbers behind each."""
        return [
            headline.Verdict(
                v.scenario,
                f"{v.outcome.replace('_', ' ')} {v.direction} by day {v.day} vs {v.against}: {v.theory}",
                v.verdict,
                f"{100 * v.share:.1f}% vs {100 * v.parent_share:.1f}%: "
                f"{100 * v.diff:+.1f} [{100 * v.lo:+.1f}, {100 * v.hi:+.1f}] pts",
            )
            for v in self.checks
        ]

    def write(self, folder: str | os.PathLike, pool: Executor | None = None) -> Path:
        """The comparison's plots, summary.csv, hypotheses.csv, manifest.json, report.md and report.html
        in ``folder``, written beside its place and moved there whole (the plots drawn on a local
        process ``pool`` when given)."""
        manifest = self.manifest()
        with folders.Staging(folder) as stage:
            report.write_compare(
                stage.path,
                self._triples(),
                wall=self.wall,
                executor=self.executor,
                reference=self.reference,
                why=self.why,
                verdicts=self.verdicts,
                manifest=manifest,
                firsts=self.firsts,
                pool=pool,
            )
            write_csv(stage.path / "hypotheses.csv", pd.DataFrame([v.as_dict() for v in self.checks]))
            write_json(stage.path / "manifest.json", manifest)
            stage.commit()
        return Path(folder) / "report.html"


def extends_of(path: str | os.PathLike) -> Path | None:
    """The file a scenario file says it ``extends`` (resolved), or None."""
    try:
        with open(path, "rb") as f:
            parent = tomllib.load(f).get("extends")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return (Path(path).resolve().parent / parent).resolve() if isinstance(parent, str) else None


def default_reference(scenarios: Sequence[Scenario]) -> tuple[str, str]:
    """The scenario the others extend (its name, and why it was chosen).

    The one from which most of the others descend, through ``extends``; if none extends another,
    the one named baseline, else the first.
    """
    by_path = {Path(sc.path).resolve(): sc.name for sc in scenarios if sc.path}
    descendants = dict.fromkeys((sc.name for sc in scenarios), 0)
    for sc in scenarios:
        seen: set[Path] = set()
        parent = extends_of(sc.path) if sc.path else None
        while parent is not None and parent not in seen:
            seen.add(parent)
            if parent in by_path:
                descendants[by_path[parent]] += 1
            parent = extends_of(parent)
    best = max(descendants.values(), default=0)
    if best > 0:
        name = next(n for n, k in descendants.items() if k == best)
        n = len(scenarios) - 1
        return (
            name,
            f"the scenario the others extend ({best} of {n})"
            if best < n
            else "the scenario the others extend",
        )
    if "baseline" in descendants:
        return "baseline", "no scenario extends another; the one named baseline"
    return scenarios[0].name, "no scenario extends another; the first given"


def _pick_reference(
    scenarios: list[Scenario], baseline, replications, seed
) -> tuple[list[Scenario], str, str]:
    """The scenarios (the reference added first if it is not among them), its name, and why."""
    if baseline is None:
        name, why = default_reference(scenarios)
        return scenarios, name, why
    if isinstance(baseline, str) and not Path(baseline).suffix and not Path(baseline).exists():
        if any(sc.name == baseline for sc in scenarios):
            return scenarios, baseline, "chosen with --baseline"
        names = ", ".join(sc.name for sc in scenarios)
        raise UserError(
            f"--baseline {baseline}: no such scenario among those compared ({names}), nor such file"
        )
    ref = baseline if isinstance(baseline, Scenario) else load_scenario(baseline)
    ref = with_overrides(ref, replications, seed)
    same = [
        sc for sc in scenarios if sc.path and ref.path and Path(sc.path).resolve() == Path(ref.path).resolve()
    ]
    if same:
        return scenarios, same[0].name, "chosen with --baseline"
    if any(sc.name == ref.name for sc in scenarios):
        raise UserError(f"--baseline {baseline}: another scenario is also named {ref.name}")
    return [ref, *scenarios], ref.name, "chosen with --baseline"


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
    baseline: Scenario | str | os.PathLike | None = None,
    command: str | None = None,
    on_saved: Callable[[Run], None] | None = None,
) -> Comparison:
    """Run several scenarios (files, folders of files, or Scenario objects) and compare them.

    Every scenario's chunks go to the executor at once; this process collects each scenario (and,
    with ``out``, writes its folder) while the workers play the next ones. With ``out``, each
    scenario's folder is ``out/<name>`` and the comparison's is ``out/compare``; each is moved into
    place whole, ``on_saved`` is called as each scenario's is, and the comparison's comes last.

    ``baseline`` is the reference the others are compared with: a scenario's name, a file (run as
    well if it is not among them) or a Scenario. By default, the scenario the others extend.
    """
    scenarios = _scenarios(paths_or_scenarios, replications, seed)
    names = [sc.name for sc in scenarios]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise UserError(f"two scenarios are named {twice[0]}; compare needs distinct file names")
    scenarios, reference, why = _pick_reference(scenarios, baseline, replications, seed)
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
                result = _collect(sc, chunks, None, None, label, command)
            else:
                stage = folders.Staging(root / sc.name)
                stages.append(stage)
                result = _collect(sc, chunks, stage.path, None, label, command)
                pending.append((stage, result._write_into(stage.path, executor), result))
            runs[sc.name] = result
            if on_run is not None:
                on_run(result)
            commit_ready(wait=False)
        commit_ready(wait=True)
    finally:
        for stage in stages:
            stage.discard()
    comparison = Comparison(runs, time.perf_counter() - t0, label, reference, why, command)
    if root is not None:
        comparison.write(root / "compare", executor)
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
    command: str | None = None

    def manifest(self) -> dict[str, Any]:
        base = folders.run_manifest(self.plan.base, self.wall, self.executor, command=self.command)
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
    command: str | None = None,
) -> SweepResult:
    """Run a scenario over a grid: ``vary = {"parties.russia.war.land.mean": [0.0, 0.001, 0.002]}``.

    Each finished point is kept in ``cache_dir`` (``out/points`` when writing to ``out``), so an
    interrupted sweep resumes there; ``fresh`` forgets earlier points first. A parameter the
    scenario never reads at any point of the grid (a lever used 0 times, an event of probability 0)
    is refused before any work, with the reason.
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
    inert.check_axes(base, [a.path for a in plan.axes], [p.scenario for p in plan.points])
    if out is not None:
        folders.prepare_out(out)  # every point is valid: now the folder may be made
    if fresh and cache is not None:
        sweeps.clear_cache(cache)
    reused = sweeps.cached_count(plan, cache)
    frame = sweeps.run_plan(plan, executor, cache_dir=cache, meanwhile=warm_up if out is not None else None)
    result = SweepResult(
        plan, frame, time.perf_counter() - t0, executor_label(executor), reused, command=command
    )
    if out is not None:
        result.write(out)
    return result
