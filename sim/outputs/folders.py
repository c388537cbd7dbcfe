"""What a run's folder and a sweep's folder hold, written file by file (each atomically)."""

from __future__ import annotations

from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.atomic import write_json
from sim.outputs import plots, report
from sim.outputs.files import INTERVALS, environment, write_csv

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiments.sweeps import Plan
    from sim.scenario import Scenario


def run_manifest(
    sc: Scenario,
    wall: float | None,
    executor: str,
    compute: float | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """What a run was and how to run it again: the command, the scenario's content hash, seed and
    replications, the interval method, where and how long it ran, Python, platform, the checkout's
    commit and the version of every library that touched the numbers or the plots.

    ``wall`` is the run's own elapsed time (None inside a comparison, where scenarios run together);
    ``compute`` is the time its chunks took where they ran, summed.
    """
    out: dict[str, Any] = {
        "command": command,
        "scenario": sc.name,
        "title": sc.title,
        "file": Path(sc.path).name,
        "scenario_sha256": sc.sha256,
        "seed": sc.seed,
        "replications": sc.replications,
        "start": sc.calendar.start,
        "days_per_round": sc.calendar.days_per_round,
        "horizon_days": sc.calendar.horizon_days,
        "intervals": INTERVALS,
        "executor": executor,
    }
    if wall is not None:
        out["wall_seconds"] = round(wall, 3)
    if compute is not None:
        out["compute_seconds"] = round(compute, 3)
    return out | environment()


def write_run(
    outdir: Path,
    sc: Scenario,
    curve: pd.DataFrame,
    shares: pd.DataFrame,
    manifest: dict[str, Any],
    pool: Executor | None = None,
) -> Future | None:
    """curve.csv, shares.csv, manifest.json and the plots. Returns the plots' future, if any.

    Plots are the slowest part of the outputs: with a local process pool they are drawn there,
    beside the chunks still playing, rather than one after another in this process.
    """
    write_csv(outdir / "curve.csv", curve)  # share of worlds with each class in force, day by day
    write_csv(outdir / "shares.csv", shares)
    write_json(outdir / "manifest.json", manifest)
    if isinstance(pool, ProcessPoolExecutor):  # a remote cluster would draw on its own disks
        return pool.submit(plots.plot_run, outdir, sc, curve, shares)
    plots.plot_run(outdir, sc, curve, shares)
    return None


def write_sweep(outdir: Path, plan: Plan, sweep_frame: pd.DataFrame, meta: dict[str, Any]) -> list[Path]:
    """``sweep.csv``, the plots, ``manifest.json`` and ``report.html``, each written atomically."""

    outdir = Path(outdir)
    written = [write_csv(outdir / "sweep.csv", sweep_frame)]
    if len(plan.axes) == 1:
        images = [plots.plot_sweep_curves(outdir, plan.base, sweep_frame, plan.axes[0])]
    elif len(plan.axes) == 2:
        images = plots.plot_sweep_heatmaps(outdir, plan.base, sweep_frame, plan.axes)
    else:
        images = []  # more than two axes: the table only
    written += images
    written.append(write_json(outdir / "manifest.json", meta))
    written.append(report.write_sweep_report(outdir, plan.base, sweep_frame, images, meta))
    return written
