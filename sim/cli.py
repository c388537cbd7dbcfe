"""The ``negsim`` command line.

Data flows one way: scenario file -> validated scenario -> model -> outcome tables -> plots and
report. A user's mistake (bad file, bad option) is one line on stderr and exit code 2, before any
output is written. Heavy libraries are imported inside the commands, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from sim import __version__
from sim.errors import UserError
from sim.threads import pin_threads

USAGE_ERROR = 2
DEFAULT_SCENARIOS = Path("scenarios")
DEFAULT_OUT = Path("results")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replications", "-n", type=int, help="worlds to simulate (default: file's)")
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: results)")
    p.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: all cores for a comparison or 50,000+ replications, else 1)",
    )
    p.add_argument(
        "--executor",
        default=None,
        help="where chunks run: local (default), dask-local, or dask://HOST:PORT",
    )


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="negsim",
        description="Simulate mediated multi-party negotiations from scenario files.",
    )
    ap.add_argument("--version", action="version", version=f"negsim {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check scenario files (schema, references, quotes)")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("explain", help="each party's positions with the source behind each")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("run", help="simulate one scenario; write CSVs, manifest and plots")
    p.add_argument("file", type=Path)
    _add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("trace", help="round-by-round narrative of one replication")
    p.add_argument("file", type=Path)
    p.add_argument("--replication", "-j", type=int, default=0, help="which world (default 0)")
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    p.add_argument("--replications", "-n", type=int, help="size of the ensemble it belongs to")
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("compare", help="run several scenarios and compare them (the main job)")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: scenarios/)")
    _add_run_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sweep", help="run one scenario over a grid of one or two parameters")
    p.add_argument("file", type=Path, help="scenario file")
    p.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="PATH=LO:HI:N",
        help="a numeric field by dotted path and its grid, e.g. parties.russia.reservation.mean=0.3:0.6:7; "
        "once for curves, twice for heatmaps (a salience weight is varied with the party's other "
        "weights rescaled to sum to 1)",
    )
    p.add_argument("--fresh", action="store_true", help="forget finished points of an earlier run")
    _add_run_options(p)
    p.set_defaults(func=cmd_sweep)
    return ap


# ---------------------------------------------------------------------------- helpers


def scenario_files(paths: list[Path]) -> list[Path]:
    from sim.scenario import find_scenarios

    return find_scenarios(paths or [DEFAULT_SCENARIOS])


def load_all(files: list[Path], replications: int | None = None, seed: int | None = None):
    """Validate every file before any work starts; apply command-line overrides."""
    from sim.scenario import load_scenario, with_overrides

    return [with_overrides(load_scenario(f), replications, seed) for f in files]


def simulate(sc, chunks, outdir: Path, started: float):
    """Stream one scenario's chunks into outdir/outcomes.csv; return (curve, shares, wall seconds).

    Each chunk is written and counted as it arrives, so memory does not grow with replications.
    """
    from sim import results
    from sim.experiment import _space, progress_bar
    from sim.io import append_csv, atomic_path

    space = _space(sc)
    tally = results.Tally(results.class_order(space), sc.rounds)
    with (
        progress_bar(sc.replications, sc.name) as bar,
        atomic_path(outdir / "outcomes.csv") as tmp,
        open(tmp, "w", newline="") as f,
    ):
        for i, chunk in enumerate(chunks):
            append_csv(f, results.outcomes_frame(space, [chunk]), header=i == 0)
            tally.add_chunk(space, chunk)
            bar.update(chunk.agreed.size)
    return tally.curve(), tally.shares(), time.perf_counter() - started


def warm_up() -> None:
    """Load the libraries that summarise and plot while the workers play the first chunks."""
    import numpy as np

    from sim import plots, results

    results.wilson(np.array([0]), 1)
    plots.class_colours([])


def manifest(sc, wall: float, workers: str) -> dict:
    from sim.io import versions

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
        "executor": workers,
        "wall_seconds": round(wall, 3),
    }


def write_run(outdir: Path, sc, curve, shares, wall: float, workers: str, pool=None):
    """Everything but outcomes.csv, which simulate() streams. Returns the plots' future, if any.

    Plots are the slowest part of the outputs: with a local process pool they are drawn there,
    beside the chunks still playing, rather than one after another in this process.
    """
    from concurrent.futures import ProcessPoolExecutor

    from sim import plots
    from sim.io import write_csv, write_json

    write_csv(outdir / "curve.csv", curve)
    write_csv(outdir / "shares.csv", shares)
    write_json(outdir / "manifest.json", manifest(sc, wall, workers))
    if isinstance(pool, ProcessPoolExecutor):  # a remote cluster would draw on its own disks
        return pool.submit(plots.plot_run, outdir, sc, curve, shares)
    plots.plot_run(outdir, sc, curve, shares)
    return None


def format_shares(name: str, shares) -> str:
    cells = [
        f"{r.outcome} {100 * r.share:5.1f}% [{100 * r.lo:4.1f}, {100 * r.hi:4.1f}]"
        for r in shares.itertuples()
    ]
    return f"{name}: " + "; ".join(cells)


PARALLEL_FROM = 50_000  # replications; below this, starting worker processes costs more than it saves


def choose_workers(args, worth_it: bool) -> None:
    """Fill in --workers when not given: every core where parallel work pays, else this process."""
    from sim.executors import default_workers

    if args.workers is None:
        local = args.executor in (None, "local")
        args.workers = default_workers() if worth_it or not local else 1


def _executor_label(args) -> str:
    return f"{args.executor or 'local'} x{args.workers}"


# ---------------------------------------------------------------------------- commands


def cmd_validate(args) -> int:
    for sc in load_all(scenario_files(args.files)):
        print(f"ok  {sc.path}  ({sc.n_packages} packages, {len(sc.parties)} parties)")
    return 0


def cmd_explain(args) -> int:
    from sim.narrative import explain

    (sc,) = load_all([args.file])
    print(explain(sc))
    return 0


def cmd_run(args) -> int:
    from sim.executors import executor_for
    from sim.experiment import launch

    (sc,) = load_all(scenario_files([args.file]), args.replications, args.seed)
    outdir = args.out / sc.name
    choose_workers(args, sc.replications >= PARALLEL_FROM)
    with executor_for(args.executor, args.workers) as ex:
        t0 = time.perf_counter()
        curve, shares, wall = simulate(sc, launch(sc, sc.seed, sc.replications, ex), outdir, t0)
    write_run(outdir, sc, curve, shares, wall, _executor_label(args))
    print(format_shares(sc.name, shares))
    print(f"{sc.replications} replications in {wall:.2f} s -> {outdir}/")
    return 0


def cmd_trace(args) -> int:
    from sim.experiment import trace_model
    from sim.narrative import trace

    (sc,) = load_all([args.file], args.replications, args.seed)
    if not 0 <= args.replication < sc.replications:
        raise UserError(f"--replication must be in 0..{sc.replications - 1}")
    model = trace_model(sc, args.replication)
    print(trace(sc, model, args.replication))
    return 0


def cmd_compare(args) -> int:
    from sim import report
    from sim.executors import executor_for
    from sim.experiment import launch

    scenarios = load_all(scenario_files(args.paths), args.replications, args.seed)
    runs = {}
    t0 = time.perf_counter()
    # Each scenario also has plots to draw, which the workers take on: several scenarios are worth it.
    choose_workers(args, len(scenarios) > 1 or scenarios[0].replications >= PARALLEL_FROM)
    with executor_for(args.executor, args.workers) as ex:
        # Every scenario's chunks go to the workers at once; this process writes each scenario's
        # outputs while the workers play the next ones.
        launched = [(sc, launch(sc, sc.seed, sc.replications, ex)) for sc in scenarios]
        warm_up()
        drawing = []
        for sc, chunks in launched:
            curve, shares, wall = simulate(sc, chunks, args.out / sc.name, t0)
            drawing.append(write_run(args.out / sc.name, sc, curve, shares, wall, _executor_label(args), ex))
            runs[sc.name] = (sc, curve, shares)
            print(format_shares(sc.name, shares))
        for f in drawing:
            if f is not None:
                f.result()
    outdir = args.out / "compare"
    report.write_compare(outdir, runs, wall=time.perf_counter() - t0, executor=_executor_label(args))
    print(f"compared {len(runs)} scenarios -> {outdir}/")
    return 0


def cmd_sweep(args) -> int:
    from sim import sweeps
    from sim.executors import executor_for

    if args.file.is_dir():
        raise UserError(f"{args.file}: sweep takes one scenario file, not a folder")
    (sc,) = load_all([args.file], args.replications, args.seed)
    if len(args.vary) > 2:
        raise UserError("at most two --vary (curves for one, heatmaps for two)")
    vary = sweeps.vary_from_specs(args.vary)
    outdir = args.out / sc.name / "sweep"
    t0 = time.perf_counter()
    choose_workers(args, math.prod(map(len, vary.values())) * sc.replications >= PARALLEL_FROM)
    with executor_for(args.executor, args.workers) as ex:
        if ex is not None:
            ex.submit(pin_threads)  # workers start up while every point is validated here
        plan = sweeps.plan_sweep(sc, vary)
        if args.fresh:
            sweeps.clear_cache(outdir / "points")
        reused = sweeps.cached_count(plan, outdir / "points")
        frame = sweeps.run_plan(plan, ex, cache_dir=outdir / "points", meanwhile=warm_up)
    wall = time.perf_counter() - t0
    meta = manifest(sc, wall, _executor_label(args)) | sweeps.grid_meta(plan) | {"points_reused": reused}
    sweeps.write_outputs(outdir, plan, frame, meta)
    print(f"{len(plan.points)} points ({reused} reused) x {sc.replications} replications in {wall:.2f} s")
    print(f"sweep of {sc.name} -> {outdir}/")
    return 0


def main(argv: list[str] | None = None) -> int:
    pin_threads()  # before NumPy loads, in this process and the workers it forks
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:  # includes ScenarioError
        print(f"negsim: error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:
        # The reader went away (negsim trace ... | head): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
