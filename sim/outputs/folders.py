"""What a run's folder and a sweep's folder hold, written file by file (each atomically)."""

from __future__ import annotations

from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.atomic import write_json
from sim.outputs import plots, report
from sim.outputs.files import versions, write_csv

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiments.sweeps import Plan
    from sim.scenario import Scenario


def run_manifest(sc: Scenario, wall: float, executor: str) -> dict[str, Any]:
    """What a run was: the scenario's content hash, seed, replications, versions and timing."""
    v = versions()
    return {
        "scenario": sc.name,
        "file": Path(sc.path).name,
        "scenario_sha256": sc.sha256,
        "seed": sc.seed,
        "replications": sc.replications,
        "rounds": sc.rounds,
        "negsim_version": v["negsim"],
        "mesa_version": v["mesa"],
        "numpy_version": v["numpy"],
        "executor": executor,
        "wall_seconds": round(wall, 3),
    }


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
    write_csv(outdir / "curve.csv", curve)
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
