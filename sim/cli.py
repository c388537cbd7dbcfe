"""The ``negsim`` command line.

Data flows one way: scenario file -> validated scenario -> model -> outcome tables -> plots and
report. A user's mistake (bad file, bad option) is one line on stderr and exit code 2, before any
output is written. Heavy libraries are imported inside the commands, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import NoReturn

from sim import __version__
from sim.errors import UserError, one_line, os_error_message, show
from sim.threads import pin_threads

USAGE_ERROR = 2
FAILURE = 1
INTERRUPTED = 130  # what a shell reports for a command stopped by Ctrl-C (128 + SIGINT)
DEFAULT_OUT = Path("results")
TRACEBACK_ENV = "NEGSIM_TRACEBACK"  # set to 1 to see the traceback of an unexpected error


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (no usage block), with what was typed escaped and shortened."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see {self.prog} --help)"
        self.exit(USAGE_ERROR, f"negsim: error: {one_line(message, 300)}{hint}\n")


def _root_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--root",
        type=Path,
        help="project folder the scenarios may read from (default: the nearest folder above each "
        "scenario that holds seeds/)",
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    _root_option(p)
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


def _posterior_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--posterior",
        type=Path,
        metavar="FILE",
        help="a posterior file of negsim calibrate: each world draws the calibrated assumptions from its "
        "particles (by their weights)",
    )


def _calibrated(sc, args):
    if getattr(args, "posterior", None) is None:
        return sc
    from sim.api import with_posterior

    return with_posterior(sc, args.posterior)


def _add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reporting-error",
        type=float,
        metavar="E",
        help="how often a report names the wrong category, above 0 and below 1 (default: the "
        "observations file's reporting_error, else 0.05)",
    )
    p.add_argument(
        "--ess-floor",
        type=float,
        metavar="SHARE",
        help="resample and fork the worlds where the effective sample size falls below this share "
        "of them (default 0.5)",
    )
    p.add_argument(
        "--budget", type=int, metavar="WORLDS", help="worlds simulated in all (default 10 x replications)"
    )


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(
        prog="negsim",
        description="Simulate mediated multi-party negotiations from scenario files.",
    )
    ap.add_argument("--version", action="version", version=f"negsim {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check scenario files (schema, references, quotes)")
    p.add_argument("files", nargs="+", type=Path)
    _root_option(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("explain", help="each party's positions with the source behind each")
    p.add_argument("file", type=Path)
    _posterior_option(p)
    _root_option(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("run", help="simulate one scenario; write CSVs, manifest and plots")
    p.add_argument("file", type=Path, help="a scenario file, or the name of an installed one (baseline)")
    _posterior_option(p)
    _add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("trace", help="one world told day by day: summary first, repeats collapsed")
    p.add_argument("file", type=Path)
    p.add_argument("--replication", "-j", type=int, default=0, help="which world (default 0)")
    p.add_argument(
        "--find", metavar="WHAT", help="the first world where WHAT happened (vetoed, lapsed, a class...)"
    )
    p.add_argument("--format", choices=["text", "json"], default="text", help="text (default) or json")
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    p.add_argument("--replications", "-n", type=int, help="size of the ensemble it belongs to")
    _posterior_option(p)
    _root_option(p)
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("compare", help="run several scenarios and compare them (the main job)")
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or folders (default: scenarios/ here, else the scenarios installed with negsim)",
    )
    p.add_argument(
        "--baseline",
        metavar="FILE",
        help="the reference the others are compared with: a file or a scenario's name "
        "(default: the scenario the others extend)",
    )
    p.add_argument("--observed", type=Path, help="observations file: rank the scenarios by forecast score")
    _log_floor_option(p)
    _posterior_option(p)
    _add_run_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("init", help="copy the installed scenarios and seeds into a folder, for editing")
    p.add_argument("folder", type=Path, help="where to put scenarios/ and seeds/ (created if missing)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("sweep", help="run one scenario over a grid of one or two parameters")
    p.add_argument("file", type=Path, help="scenario file")
    p.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="PATH=LO:HI:N",
        help="a numeric field by dotted path and its grid, e.g. parties.russia.war.land.mean=0:0.004:5; "
        "once for curves, twice for heatmaps (a salience weight is varied with the party's other "
        "weights rescaled to sum to 1)",
    )
    p.add_argument("--fresh", action="store_true", help="forget finished points of an earlier run")
    _add_run_options(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "analyze", help="zone of agreement, Pareto frontier, Nash and Kalai-Smorodinsky packages"
    )
    p.add_argument("file", type=Path, help="scenario file")
    p.add_argument(
        "--days", help="comma-separated days to analyse (default: start, each truce length, levers)"
    )
    p.add_argument("--no-simulate", action="store_true", help="the mean parameters only, no run replayed")
    _add_run_options(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("sensitivity", help="tornado of every parameter and Morris (or Sobol') screening")
    p.add_argument("file", type=Path, help="scenario file")
    p.add_argument(
        "--params",
        nargs="+",
        metavar="PATH",
        help="dotted paths to move and screen (default: every parameter in the tornado, the largest "
        "effects screened)",
    )
    p.add_argument(
        "--method", choices=["morris", "sobol", "none"], default="morris", help="screening (default morris)"
    )
    p.add_argument(
        "--share", type=float, default=0.1, help="step where no uncertainty is stated (default 0.1)"
    )
    p.add_argument("--top", type=int, default=8, help="parameters screened when --params is not given")
    p.add_argument("--trajectories", type=int, default=10, help="Morris trajectories (default 10)")
    p.add_argument("--samples", type=int, default=64, help="Sobol' base samples, a power of 2 (default 64)")
    p.add_argument("--fresh", action="store_true", help="forget finished points of an earlier run")
    _add_run_options(p)
    p.set_defaults(func=cmd_sensitivity, replications=None)

    p = sub.add_parser("score", help="score a scenario's forecast against dated observations")
    p.add_argument("file", type=Path, help="scenario file")
    p.add_argument("--observed", type=Path, required=True, help="observations file (TOML)")
    p.add_argument(
        "--prequential",
        action="store_true",
        help="score each observation with the forecast conditioned on what was observed before its "
        "date, beside the static forecast and the uniform reference",
    )
    _add_filter_options(p)
    _posterior_option(p)
    _log_floor_option(p)
    _add_run_options(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("update", help="condition a scenario's worlds on the observations up to a date")
    p.add_argument("file", type=Path, help="scenario file")
    p.add_argument("--observed", type=Path, required=True, help="observations file (TOML)")
    p.add_argument("--as-of", metavar="DATE", help="read the observations dated up to DATE (default: all)")
    _add_filter_options(p)
    _posterior_option(p)
    _add_run_options(p)
    p.set_defaults(func=cmd_update)

    p = sub.add_parser(
        "calibrate", help="revise a scenario's stated assumptions against observations (ABC-SMC)"
    )
    p.add_argument("file", type=Path, help="scenario file")
    p.add_argument("--observed", type=Path, required=True, help="observations file (TOML)")
    p.add_argument(
        "--params",
        nargs="+",
        metavar="PATH[=LO:HI]",
        default=[],
        help="assumptions to calibrate by dotted path: an uncertain value's mean (prior: normal with its "
        "sd) or any assumed number with an allowed range (default: each party's margin and concession)",
    )
    p.add_argument("--population", type=int, default=100, help="particles per population (default 100)")
    p.add_argument("--generations", type=int, default=4, help="populations (default 4)")
    p.add_argument("--worlds", type=int, default=20, help="worlds simulated per particle (default 20)")
    p.add_argument(
        "--method",
        choices=["reports", "brier"],
        default="reports",
        help="reports (default): exact, each particle kept with the probability of the reports under "
        "their reporting error; brier: a shrinking tolerance on the forecast's mean Brier score",
    )
    p.add_argument(
        "--reporting-error",
        type=float,
        metavar="E",
        help="how often a report names the wrong category, above 0 and below 1, for --method reports "
        "(default: the observations file's reporting_error, else 0.05)",
    )
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming the history")
    _add_run_options(p)
    p.set_defaults(func=cmd_calibrate, replications=None)

    _add_teaching(sub)
    return ap


DEFAULT_CLASS_LOG = DEFAULT_OUT / "class-log.jsonl"
DEFAULT_CLASS_DB = DEFAULT_OUT / "class.sqlite"


def _add_teaching(sub) -> None:
    p = sub.add_parser("roles", help="role sheets: a public brief and a confidential sheet per party")
    p.add_argument("file", type=Path)
    p.add_argument("--out", type=Path, help="output folder (default: results/<scenario>/roles)")
    p.add_argument("--pdf", action="store_true", help="also print each page to PDF (needs Chromium)")
    p.set_defaults(func=cmd_roles)

    p = sub.add_parser("play", help="play one party in the terminal against the simulated others")
    p.add_argument("file", type=Path)
    p.add_argument("--as", dest="party", required=True, metavar="PARTY", help="the party you play")
    p.add_argument("--world", "-j", type=int, default=0, help="which world of the ensemble (default 0)")
    p.add_argument("--seed", type=int, help="random seed of the ensemble (default: the scenario's)")
    p.add_argument("--blind", action="store_true", help="hide your no-deal value and the day")
    p.add_argument("--moves", type=Path, help="take the answers from this file, one per line")
    p.add_argument(
        "--autopilot", action="store_true", help="let the model's own party answer, and print its moves"
    )
    p.add_argument(
        "--log",
        type=Path,
        default=DEFAULT_CLASS_LOG,
        help=f"class log to append to (default {DEFAULT_CLASS_LOG})",
    )
    p.set_defaults(func=cmd_play)

    p = sub.add_parser(
        "exercise", help="exercises with answers the model checks: list | show N | check N FILE"
    )
    p.add_argument("action", choices=["list", "show", "check"])
    p.add_argument("number", nargs="?", help="exercise number (or folder name)")
    p.add_argument("answer", nargs="?", type=Path, help="answer file (answer = ...), for check")
    p.add_argument("--dir", type=Path, default=Path("teaching/exercises"), help="exercises folder")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT / "exercises", help="where check writes its plot")
    p.set_defaults(func=cmd_exercise)

    p = sub.add_parser("worksheet", help="the prediction worksheet from the scenarios' hypotheses")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: scenarios/)")
    p.add_argument("--out", type=Path, help="write Markdown here (and printable HTML beside it)")
    p.add_argument("--pdf", action="store_true", help="also print the HTML to PDF (needs --out and Chromium)")
    p.add_argument(
        "--key",
        action="store_true",
        help="the teacher's key with the model's verdicts and intervals (compares the scenarios first)",
    )
    p.add_argument("--replications", "-n", type=int, help="worlds per scenario for --key (default: file's)")
    p.add_argument("--seed", type=int, help="random seed for --key (default: the scenario's)")
    p.add_argument("--workers", type=int, help="worker processes for --key (default: all cores)")
    p.add_argument(
        "--executor", help="where --key's chunks run: local (default), dask-local, or dask://HOST:PORT"
    )
    p.set_defaults(func=cmd_worksheet)

    p = sub.add_parser("debrief", help="the class's games against the simulated distribution: plots, handout")
    p.add_argument(
        "log", type=Path, nargs="+", help=f"class logs of negsim play, one or more (e.g. {DEFAULT_CLASS_LOG})"
    )
    p.add_argument("--pdf", action="store_true", help="also print the handout to PDF (needs Chromium)")
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT / "debrief", help="output folder (default: results/debrief)"
    )
    p.add_argument(
        "--scenarios",
        nargs="+",
        type=Path,
        default=[],
        help="where the played scenarios are (default: scenarios/ here, else the installed ones)",
    )
    p.set_defaults(func=cmd_debrief)

    p = sub.add_parser("dashboard", help="the classroom dashboard for a projector, on 127.0.0.1, offline")
    p.add_argument("file", type=Path, nargs="?", default=Path("baseline.toml"), help="default: the baseline")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this laptop)")
    p.add_argument("--worlds", type=int, default=300, help="worlds in the ensemble (default 300)")
    p.add_argument(
        "--setup",
        action="store_true",
        help="fetch the front-end files once (npm), so the dashboard works offline",
    )
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("class", help="the class in the browser: serve | export")
    actions = p.add_subparsers(dest="action", required=True, metavar="serve|export")
    s = actions.add_parser(
        "serve", help="one server for the class: students at any seat, the model in the rest"
    )
    s.add_argument("file", type=Path, nargs="?", default=Path("baseline.toml"), help="default: the baseline")
    s.add_argument("--tables", type=int, default=5, help="tables in the room (default 5)")
    s.add_argument("--host", default="0.0.0.0", help="address to serve on (default 0.0.0.0: the LAN)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    s.add_argument("--world", "-j", type=int, default=0, help="the world every table plays (default 0)")
    s.add_argument(
        "--db", type=Path, default=DEFAULT_CLASS_DB, help=f"the class's database (default {DEFAULT_CLASS_DB})"
    )
    s.add_argument(
        "--blind", action="store_true", help="the envoy's page hides what the mediator believes of the others"
    )
    s.set_defaults(func=cmd_class_serve)
    e = actions.add_parser("export", help="a class server's games as a JSON-lines class log")
    e.add_argument("db", type=Path, help=f"the class's database (e.g. {DEFAULT_CLASS_DB})")
    e.add_argument("--out", type=Path, default=DEFAULT_CLASS_LOG, help=f"default {DEFAULT_CLASS_LOG}")
    e.set_defaults(func=cmd_class_export)


# ---------------------------------------------------------------------------- helpers


def scenario_files(paths: list[Path]) -> list[Path]:
    """Files for the paths given (or the default folder), saying so when installed ones stand in."""
    from sim.api import scenario_paths

    files, note = scenario_paths(paths)
    if note:
        print(f"negsim: {note}", file=sys.stderr)
    return files


def one_file(path: Path, command: str) -> Path:
    """The one scenario file a command takes; a folder is a one-line error saying what to use."""
    if path.is_dir():
        raise UserError(
            f"{show(path, 120)} is a folder; negsim {command} takes one scenario file "
            "(negsim compare takes folders)"
        )
    (file,) = scenario_files([path])
    return file


def width() -> int:
    """Columns of the terminal (or $COLUMNS), 100 when not known."""
    return shutil.get_terminal_size((100, 24)).columns


def format_shares(name: str, shares) -> str:
    cells = [
        f"{r.outcome} {100 * r.share:5.1f}% [{100 * r.lo:4.1f}, {100 * r.hi:4.1f}]"
        for r in shares.itertuples()
    ]
    return f"{name}: " + "; ".join(cells)


PARALLEL_FROM = 50_000  # replications; below this, starting worker processes costs more than it saves


def executor(args, worth_it: bool):
    """The executor of --executor/--workers; without --workers, every core where parallel work pays."""
    from sim.api import default_workers, executor_for

    workers = args.workers
    if workers is None:
        local = args.executor in (None, "local")
        workers = default_workers() if worth_it or not local else 1
    return executor_for(args.executor, workers)


# ---------------------------------------------------------------------------- commands


def cmd_validate(args) -> int:
    from sim.api import load_scenarios

    for sc in load_scenarios(scenario_files(args.files), root=args.root):
        print(f"ok  {sc.path}  ({sc.n_packages} packages, {len(sc.parties)} parties)")
    return 0


def cmd_explain(args) -> int:
    from sim.api import explain, load_scenarios

    (sc,) = load_scenarios([one_file(args.file, "explain")], root=args.root)
    text = explain(sc)
    if args.posterior is not None:
        from sim.api import explain_posterior

        _calibrated(sc, args)  # checked against the scenario before anything is printed
        text += "\n" + explain_posterior(sc, args.posterior)
    print(text)
    return 0


def cmd_run(args) -> int:
    from sim.api import load_scenarios, run

    (sc,) = load_scenarios([one_file(args.file, "run")], args.replications, args.seed, root=args.root)
    sc = _calibrated(sc, args)
    outdir = args.out / sc.name
    args.interrupted = f"{show(outdir, 120)}/ was not written (an earlier one is left as it was)"
    with executor(args, sc.replications >= PARALLEL_FROM) as ex:
        result = run(sc, executor=ex, out=outdir, command=args.command_line)
    print(format_shares(sc.name, result.shares))
    print(f"{sc.replications} replications in {result.wall:.2f} s -> {outdir}/")
    return 0


def cmd_trace(args) -> int:
    from sim.api import find_world, load_scenarios, trace

    (sc,) = load_scenarios([one_file(args.file, "trace")], args.replications, args.seed, root=args.root)
    sc = _calibrated(sc, args)
    j = find_world(sc, args.find) if args.find is not None else args.replication
    print(trace(sc, j, as_json=args.format == "json"))
    return 0


def _log_floor_option(p) -> None:
    p.add_argument(
        "--log-floor",
        type=float,
        default=None,
        metavar="P",
        help="the log score counts a probability below P as P (default 0.001); "
        "the count of events given probability 0 is reported beside it",
    )


def cmd_compare(args) -> int:
    from sim.api import compare, load_scenarios
    from sim.api.forecasting import check_floor

    check_floor(args.log_floor)  # before any work starts

    scenarios = load_scenarios(scenario_files(args.paths), args.replications, args.seed, root=args.root)
    scenarios = [_calibrated(sc, args) for sc in scenarios]  # every scenario, before any work starts
    baseline = args.baseline  # a scenario's name is looked up among those compared
    if baseline is not None and (Path(baseline).exists() or Path(baseline).suffix):
        baseline = one_file(Path(baseline), "compare --baseline")
    obs = None
    if args.observed is not None:
        from sim.api import load_observations

        obs = load_observations(args.observed, scenarios)  # checked before any work starts
    saved: list[str] = []

    def kept() -> str:
        names = show(", ".join(saved), 200)
        folders = f"kept {len(saved)} of {len(scenarios)} scenario folders" + (f" ({names})" if saved else "")
        return f"{folders} in {show(args.out, 120)}/, each whole; no comparison report was written"

    args.interrupted = kept
    # Each scenario also has plots to draw, which the workers take on: several scenarios are worth it.
    with executor(args, len(scenarios) > 1 or scenarios[0].replications >= PARALLEL_FROM) as ex:
        result = compare(
            scenarios,
            executor=ex,
            out=args.out,
            baseline=baseline,
            command=args.command_line,
            on_saved=lambda r: saved.append(r.scenario.name),
        )
    print(result.headline(width()))
    if obs is not None:
        from sim.api import rank_by_score
        from sim.outputs.analysis import text_table
        from sim.outputs.files import write_csv

        with executor(args, False) as ex:
            ranking = rank_by_score(result, obs, ex, args.log_floor)
        print(f"\nranked by forecast score against {args.observed}:")
        print(text_table(ranking))
        write_csv(args.out / "compare" / "scores.csv", ranking)
    folder = args.out / "compare"
    print(f"\nPlots, tables and sources (also in report.md, summary.csv):\n  {folder / 'report.html'}")
    return 0


def cmd_init(args) -> int:
    from sim.api import init

    copied = init(args.folder)
    n = sum(f.suffix == ".toml" for f in copied)
    print(f"{n} scenarios -> {args.folder / 'scenarios'}/, seeds -> {args.folder / 'seeds'}/")
    print(f"Edit them, then: cd {args.folder} && negsim compare")
    return 0


def cmd_sweep(args) -> int:
    from sim.api import load_scenarios, parse_vary, sweep

    (sc,) = load_scenarios([one_file(args.file, "sweep")], args.replications, args.seed, root=args.root)
    if len(args.vary) > 2:
        raise UserError("at most two --vary (curves for one, heatmaps for two)")
    vary = parse_vary(args.vary)
    outdir = args.out / sc.name / "sweep"
    points = outdir / "points"

    def kept() -> str:
        n = len(list(points.glob("*.json"))) if points.is_dir() else 0
        return f"kept {n} finished points in {show(points, 120)}/; rerun the same command to resume"

    args.interrupted = kept
    with executor(args, math.prod(map(len, vary.values())) * sc.replications >= PARALLEL_FROM) as ex:
        result = sweep(sc, vary, executor=ex, out=outdir, fresh=args.fresh, command=args.command_line)
    n = len(result.plan.points)
    print(f"{n} points ({result.reused} reused) x {sc.replications} replications in {result.wall:.2f} s")
    print(f"sweep of {sc.name} -> {outdir}/")
    return 0


def _days(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(d) for d in text.split(",") if d.strip()]
    except ValueError:
        raise UserError(f"--days '{text}': expected whole days separated by commas, e.g. 0,28,56") from None


def cmd_analyze(args) -> int:
    from sim.api import analyze, load_scenarios

    (sc,) = load_scenarios([args.file], args.replications, args.seed)
    outdir = args.out / sc.name / "analysis"
    with executor(args, sc.replications >= PARALLEL_FROM) as ex:
        result = analyze(sc, executor=ex, days=_days(args.days), simulate=not args.no_simulate, out=outdir)
    print(result.report())
    print(f"-> {outdir}/")
    return 0


SENSITIVITY_REPLICATIONS = 500  # per point: differences at common random numbers need fewer worlds


def cmd_sensitivity(args) -> int:
    from sim.api import load_scenarios, sensitivity

    n = args.replications if args.replications is not None else SENSITIVITY_REPLICATIONS
    (sc,) = load_scenarios([args.file], n, args.seed)
    outdir = args.out / sc.name / "sensitivity"
    with executor(args, True) as ex:
        result = sensitivity(
            sc,
            params=args.params,
            method=None if args.method == "none" else args.method,
            share=args.share,
            screen_top=args.top,
            trajectories=args.trajectories,
            base_samples=args.samples,
            executor=ex,
            out=outdir,
            fresh=args.fresh,
        )
    print(result.report())
    print(f"in {result.wall:.1f} s -> {outdir}/")
    return 0


def _filter_kwargs(args) -> dict:
    return {"reporting_error": args.reporting_error, "ess_floor": args.ess_floor, "budget": args.budget}


def cmd_score(args) -> int:
    from sim.api import load_observations, load_scenarios, prequential, score
    from sim.api.forecasting import check_floor

    check_floor(args.log_floor)
    (sc,) = load_scenarios([args.file], args.replications, args.seed)
    sc = _calibrated(sc, args)
    obs = load_observations(args.observed, [sc])
    outdir = args.out / sc.name / "score"
    with executor(args, sc.replications >= PARALLEL_FROM) as ex:
        if args.prequential:
            result = prequential(
                sc, obs, executor=ex, out=outdir, log_floor=args.log_floor, **_filter_kwargs(args)
            )
        else:
            result = score(sc, obs, executor=ex, out=outdir, log_floor=args.log_floor)
    print(result.report())
    print(f"-> {outdir}/")
    return 0


def cmd_update(args) -> int:
    from sim.api import load_observations, load_scenarios, update

    (sc,) = load_scenarios([args.file], args.replications, args.seed)
    sc = _calibrated(sc, args)
    obs = load_observations(args.observed, [sc])
    outdir = args.out / sc.name / "update"
    with executor(args, sc.replications >= PARALLEL_FROM) as ex:
        result = update(sc, obs, args.as_of, executor=ex, **_filter_kwargs(args))
        result.command = f"negsim trace {args.file} -n {sc.replications} --seed {sc.seed}"
        if args.posterior is not None:
            result.command += f" --posterior {args.posterior}"  # the worlds of the calibrated run
        result.write(outdir)
    print(result.report())
    print(f"-> {outdir}/")
    return 0


def cmd_calibrate(args) -> int:
    from sim.api import calibrate, load_observations, load_scenarios

    (sc,) = load_scenarios([args.file], None, args.seed)
    obs = load_observations(args.observed, [sc])
    from sim.analysis.calibration import parse_params

    parse_params(sc, args.params)  # a parameter that is not an assumption is refused before any work
    for name in ("population", "generations", "worlds"):
        if getattr(args, name) < (2 if name == "population" else 1):
            raise UserError(f"--{name} must be at least {2 if name == 'population' else 1}")
    outdir = args.out / sc.name / "calibrate"
    with executor(args, False) as ex:
        result = calibrate(
            sc,
            obs,
            args.params,
            population=args.population,
            generations=args.generations,
            worlds=args.worlds,
            executor=ex if args.workers or args.executor else None,
            out=outdir,
            fresh=args.fresh,
            command=args.command_line,
            method=args.method,
            reporting_error=args.reporting_error,
        )
    print(result.report())
    print(f"in {result.manifest['seconds']:.1f} s -> {outdir}/ (pyabc history: {outdir}/history.db)")
    return 0


def _pdf_ready(pdf: bool) -> None:
    if pdf:
        from sim.teaching.pdf import require

        require()


def cmd_roles(args) -> int:
    from sim.api import load_scenarios, roles

    (sc,) = load_scenarios([args.file])
    _pdf_ready(args.pdf)
    out = args.out or DEFAULT_OUT / sc.name / "roles"
    files = roles(sc).write(out, pdf=args.pdf)
    print(f"{len(files)} files (public brief and {len(sc.parties)} confidential sheets) -> {out}/")
    return 0


INTERRUPTED = 130


def cmd_play(args) -> int:
    from sim.api import load_scenarios, play

    (sc,) = load_scenarios([args.file], None, args.seed)
    try:
        result = play(
            sc,
            args.party,
            args.world,
            blind=args.blind,
            moves=args.moves,
            autopilot=args.autopilot,
            log=args.log,
        )
    except KeyboardInterrupt:
        print("\nGame interrupted (Ctrl-C); the game is not logged.")
        return INTERRUPTED
    if result is None:
        return 1
    if args.autopilot:
        print("\nThe model's moves (a moves file that replays it):")
        print("\n".join(result.moves))
    return 0


def cmd_exercise(args) -> int:
    from sim.api import check_exercise, exercise, exercises

    if args.action == "list":
        for ex in exercises(args.dir):
            print(f"{ex.number:>2}  {ex.title}")
        return 0
    if args.number is None:
        raise UserError(f"exercise {args.action} needs an exercise number")
    if args.action == "show":
        from sim.teaching.exercises import show

        print(show(exercise(args.number, args.dir)))
        return 0
    if args.answer is None:
        raise UserError("exercise check needs an answer file: negsim exercise check N my-answer.toml")
    slug = exercise(args.number, args.dir).slug
    verdict = check_exercise(args.number, args.answer, args.dir, out=args.out / slug)
    print(verdict.text())
    return 0 if verdict.holds else 1


def cmd_worksheet(args) -> int:
    from sim.api import worksheet

    if args.pdf and args.out is None:
        raise UserError("--pdf needs --out FILE.md (the PDF is printed from the HTML beside it)")
    _pdf_ready(args.pdf)
    if not args.key and (args.replications, args.seed, args.workers, args.executor) != (None,) * 4:
        raise UserError("--replications, --seed, --workers and --executor go with --key")
    t0 = time.perf_counter()
    with executor(args, True) if args.key else contextlib.nullcontext() as ex:
        text = worksheet(scenario_files(args.paths), args.key, args.replications, args.seed, ex)
    if args.key:  # how long the key took, where it does not mix with the worksheet's text
        print(f"key: the scenarios compared in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.out is None:
        print(text, end="")
        return 0
    from sim.atomic import write_text
    from sim.teaching.markup import to_html

    html = args.out.with_suffix(".html")
    write_text(args.out, text)
    write_text(html, to_html(text, "Prediction worksheet"))
    also = ""
    if args.pdf:
        from sim.teaching.pdf import beside

        also = f" and {beside([html])[0]}"
    print(f"worksheet -> {args.out} and {html}{also}")
    return 0


def cmd_debrief(args) -> int:
    from sim.api import debrief

    _pdf_ready(args.pdf)
    for d in debrief(args.log, scenario_files(args.scenarios), out=args.out, pdf=args.pdf):
        print(d.markdown())
    print(f"handout -> {args.out}/")
    return 0


def cmd_class_serve(args) -> int:
    from sim.api import serve_class

    args.file = one_file(args.file, "class serve")  # a bare name falls back to the installed scenarios
    serve_class(args.file, args.db, args.tables, args.host, args.port, args.world, blind=args.blind)
    return 0


def cmd_class_export(args) -> int:
    from sim.api import export_class_log

    n = export_class_log(args.db, args.out)
    print(f"{n} games -> {args.out}")
    return 0


MAX_DASHBOARD_WORLDS = 100_000  # worlds the dashboard steps at once, each time a slider moves


def cmd_dashboard(args) -> int:
    from sim.api import ASSETS_DIR, fetch_dashboard_assets, serve_dashboard

    if args.setup:
        for folder in fetch_dashboard_assets():
            print(f"ok  {folder}")
        return 0
    if not 1 <= args.port <= 65535:
        raise UserError(f"--port must be in 1..65535 (got {args.port})")
    if not 1 <= args.worlds <= MAX_DASHBOARD_WORLDS:
        raise UserError(f"--worlds must be in 1..{MAX_DASHBOARD_WORLDS:,} (got {args.worlds})")
    args.file = one_file(args.file, "dashboard")  # a bare name falls back to the installed scenarios
    from sim.api import load_scenario

    load_scenario(args.file)  # a bad file is one line here, before the server starts
    if not ASSETS_DIR.is_dir():
        print(
            f"negsim: {ASSETS_DIR}/ is missing: run 'negsim dashboard --setup' once while online",
            file=sys.stderr,
        )
    server = serve_dashboard(args.file, args.host, args.port, args.worlds)
    print(f"dashboard of {args.file} on http://{args.host}:{args.port}/ (Ctrl-C stops it)")
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait()
        return 0


def main(argv: list[str] | None = None) -> int:
    pin_threads()  # before NumPy loads, in this process and the workers it forks
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = _command_line(argv)
    try:
        return args.func(args)
    except UserError as e:  # includes ScenarioError
        return _fail(str(e))
    except KeyboardInterrupt:
        if args.command in ("run", "compare", "sweep") and isinstance(getattr(args, "out", None), Path):
            from sim.outputs.folders import discard_own

            discard_own(args.out)  # the workers have stopped: what they were writing goes too
        said = getattr(args, "interrupted", None)
        said = said() if callable(said) else said
        if said is None and args.command in ("run", "compare", "sweep"):
            said = "nothing was written"  # stopped while the files were still being checked
        print(f"negsim: interrupted{'; ' + said if said else ''}", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (negsim trace ... | head): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as e:  # disk full, read-only, a name too long, not a folder ...
        return _fail(f"cannot write the results: {os_error_message(e)}")
    except RecursionError:
        return _fail("input nested too deeply")
    except UnicodeError as e:
        return _fail(f"text that is not UTF-8: {show(e, 200)}")
    except MemoryError:
        return _fail("out of memory: ask for fewer replications or sweep points, or fewer --workers")
    except Exception as e:
        if os.environ.get(TRACEBACK_ENV):
            raise
        print(
            f"negsim: internal error: {one_line(f'{type(e).__name__}: {e}')} (a bug in negsim; please "
            f"report it with the command; {TRACEBACK_ENV}=1 shows where it happened)",
            file=sys.stderr,
        )
        return FAILURE


def _fail(message: str) -> int:
    print(f"negsim: error: {one_line(message)}", file=sys.stderr)
    return USAGE_ERROR


def _command_line(argv: list[str]) -> str:
    import shlex

    return shlex.join(["negsim", *argv])
