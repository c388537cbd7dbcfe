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
from pathlib import Path
from typing import NoReturn

from sim import __version__
from sim.errors import UserError, one_line, os_error_message, show
from sim.threads import pin_threads

USAGE_ERROR = 2
INTERRUPTED = 130  # what a shell reports for a command stopped by Ctrl-C (128 + SIGINT)
DEFAULT_SCENARIOS = Path("scenarios")
DEFAULT_OUT = Path("results")


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
    _root_option(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("run", help="simulate one scenario; write CSVs, manifest and plots")
    p.add_argument("file", type=Path)
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
    _root_option(p)
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
        help="a numeric field by dotted path and its grid, e.g. parties.russia.war.land.mean=0:0.004:5; "
        "once for curves, twice for heatmaps (a salience weight is varied with the party's other "
        "weights rescaled to sum to 1)",
    )
    p.add_argument("--fresh", action="store_true", help="forget finished points of an earlier run")
    _add_run_options(p)
    p.set_defaults(func=cmd_sweep)
    return ap


# ---------------------------------------------------------------------------- helpers


def scenario_files(paths: list[Path]) -> list[Path]:
    from sim.api import find_scenarios

    return find_scenarios(paths or [DEFAULT_SCENARIOS])


def one_file(args) -> Path:
    """The single scenario file a command takes (a folder is a mistake, not a list)."""
    if args.file.is_dir():
        raise UserError(
            f"{show(args.file, 120)}: {args.command} takes one scenario file, not a folder "
            "(compare and validate take folders)"
        )
    return args.file


def format_shares(name: str, shares) -> str:
    cells = [
        f"{r.outcome} {100 * r.share:5.1f}% [{100 * r.lo:4.1f}, {100 * r.hi:4.1f}]"
        for r in shares.itertuples()
    ]
    return f"{name}: " + "; ".join(cells)


def print_run(run) -> None:
    print(format_shares(run.scenario.name, run.shares))


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

    (sc,) = load_scenarios([one_file(args)], root=args.root)
    print(explain(sc))
    return 0


def cmd_run(args) -> int:
    from sim.api import load_scenarios, run

    (sc,) = load_scenarios([one_file(args)], args.replications, args.seed, root=args.root)
    outdir = args.out / sc.name
    args.interrupted = f"{show(outdir, 120)}/ was not written (an earlier one is left as it was)"
    with executor(args, sc.replications >= PARALLEL_FROM) as ex:
        result = run(sc, executor=ex, out=outdir)
    print(format_shares(sc.name, result.shares))
    print(f"{sc.replications} replications in {result.wall:.2f} s -> {outdir}/")
    return 0


def cmd_trace(args) -> int:
    from sim.api import find_world, load_scenarios, trace

    (sc,) = load_scenarios([one_file(args)], args.replications, args.seed, root=args.root)
    j = find_world(sc, args.find) if args.find else args.replication
    print(trace(sc, j, as_json=args.format == "json"))
    return 0


def cmd_compare(args) -> int:
    from sim.api import compare, load_scenarios

    scenarios = load_scenarios(scenario_files(args.paths), args.replications, args.seed, root=args.root)
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
            on_run=lambda r: print(format_shares(r.scenario.name, r.shares), flush=True),
            on_saved=lambda r: saved.append(r.scenario.name),
        )
    for v in result.verdicts:
        print(
            f"{v.scenario}: expects {v.outcome} {v.direction} by day {v.day} vs {v.against}: {v.verdict} "
            f"({100 * v.diff:+.1f} points [{100 * v.lo:+.1f}, {100 * v.hi:+.1f}])"
        )
    print(f"compared {len(result.runs)} scenarios -> {args.out / 'compare'}/")
    return 0


def cmd_sweep(args) -> int:
    from sim.api import load_scenarios, parse_vary, sweep

    (sc,) = load_scenarios([one_file(args)], args.replications, args.seed, root=args.root)
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
        result = sweep(sc, vary, executor=ex, out=outdir, fresh=args.fresh)
    n = len(result.plan.points)
    print(f"{n} points ({result.reused} reused) x {sc.replications} replications in {result.wall:.2f} s")
    print(f"sweep of {sc.name} -> {outdir}/")
    return 0


def main(argv: list[str] | None = None) -> int:
    pin_threads()  # before NumPy loads, in this process and the workers it forks
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:  # includes ScenarioError
        return _fail(str(e))
    except KeyboardInterrupt:
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


def _fail(message: str) -> int:
    print(f"negsim: error: {one_line(message)}", file=sys.stderr)
    return USAGE_ERROR
