"""What a run's folder and a sweep's folder hold, and how a folder is made whole or not at all.

A scenario's folder (and the comparison's) is written into a temporary folder beside it,
``.<name>.tmp-<pid>-<random>``, and moved into place in one step once every file is there, so a
folder under ``--out`` is either whole (from one run) or absent, never half of one run and half of
another. A rerun removes what a killed run left: temporary folders of processes that are gone,
and ``.part`` files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.atomic import write_json
from sim.errors import UserError, os_error_message, show
from sim.experiments.executors import alive
from sim.outputs import plots, report
from sim.outputs.files import INTERVALS, environment, write_csv
from sim.scenario.posterior import particles_of

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiments.sweeps import Plan
    from sim.scenario import Scenario


RUN_FILES = (
    "outcomes.csv",
    "curve.csv",
    "first.csv",
    "shares.csv",
    "manifest.json",
    "curve.png",
    "outcomes.png",
)
STALE_PART_SECONDS = 60


def prepare_out(folder: str | os.PathLike) -> Path:
    """Check that ``folder`` is (or can become) a folder this process can write in; create it.

    Called before any work, so a bad ``--out`` is one error line and nothing half-written.
    """
    folder = Path(folder)
    shown = show(folder, 120)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--out {shown}: is a file, not a folder; name a folder (it is created if need be)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".negsim-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UserError(f"--out {shown}: cannot write there: {os_error_message(e)}") from None
    clean_leftovers(folder)
    return folder


def _pid_of(name: str) -> int | None:
    """The process id in a temporary folder's name ``.<name>.tmp-<pid>-<hex>``, if it is one."""
    for tag in (".tmp-", ".old-"):
        if name.startswith(".") and tag in name:
            pid = name.rsplit(tag, 1)[1].split("-", 1)[0]
            return int(pid) if pid.isdigit() else None
    return None


def clean_leftovers(folder: Path) -> list[Path]:
    """Remove what a killed run left in ``folder`` and its subfolders one level down.

    Temporary folders of processes that no longer run, and ``.part`` files older than a minute
    (a file that young may belong to a run writing here right now).
    """
    removed: list[Path] = []
    subfolders = [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and not _pid_of(p.name)]
    for parent in [folder, *subfolders]:
        try:
            entries = list(parent.iterdir())
        except OSError:
            continue
        for p in entries:
            pid = _pid_of(p.name)
            if pid is not None and p.is_dir() and not p.is_symlink() and not alive(pid):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
            elif p.name.startswith(".") and p.name.endswith(".part") and p.is_file():
                with contextlib.suppress(OSError):
                    if time.time() - p.stat().st_mtime > STALE_PART_SECONDS:
                        p.unlink()
                        removed.append(p)
    return removed


def discard_own(folder: str | os.PathLike, depth: int = 3) -> list[Path]:
    """Remove this process's temporary folders under ``folder`` (``depth`` levels down): what an
    interrupted command was writing. A worker drawing into one may have put a file there (a plot's
    ``.part``) after the command's own clean-up looked; called once the workers have stopped, this
    leaves nothing behind."""
    mine = (f".tmp-{os.getpid()}-", f".old-{os.getpid()}-")
    removed: list[Path] = []
    level = [Path(folder)]
    for _ in range(depth):
        below = []
        for parent in level:
            try:
                entries = [p for p in parent.iterdir() if p.is_dir() and not p.is_symlink()]
            except OSError:
                continue
            for p in entries:
                if p.name.startswith(".") and any(tag in p.name for tag in mine):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
                else:
                    below.append(p)
        level = below
    return removed


class Staging:
    """A temporary folder beside ``target`` that replaces it in one step on :meth:`commit`."""

    def __init__(self, target: str | os.PathLike) -> None:
        self.target = Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        if self.target.exists() and not self.target.is_dir():
            raise UserError(f"{show(self.target, 120)} is a file; cannot write a folder there")
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.path = self.target.parent / f".{self.target.name}.tmp-{tag}"
        self._old = self.target.parent / f".{self.target.name}.old-{tag}"
        self.path.mkdir()
        self.done = False

    def commit(self) -> Path:
        """Move the finished folder into place (an earlier one is removed)."""
        if self.target.exists():
            os.replace(self.target, self._old)
        os.replace(self.path, self.target)
        self.done = True
        shutil.rmtree(self._old, ignore_errors=True)
        return self.target

    def discard(self) -> None:
        if not self.done:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def is_whole(folder: Path, files: tuple[str, ...] = RUN_FILES) -> bool:
    """A run's folder holds every file a run writes (folders are moved into place whole)."""
    return folder.is_dir() and all((folder / f).is_file() for f in files)


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
        "contacts_mean_interval_days": sc.calendar.contacts.mean_interval_days,
        "contacts_sd_days": sc.calendar.contacts.sd_days,
        "horizon_days": sc.calendar.horizon_days,
        "intervals": INTERVALS,
        "executor": executor,
    }
    parts = particles_of(sc)
    if parts is not None:
        out["posterior"] = parts.describe()
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
    first: pd.DataFrame | None = None,
) -> Future | None:
    """curve.csv, first.csv, shares.csv, manifest.json and the plots. Returns the plots' future, if any.

    Plots are the slowest part of the outputs: with a local process pool they are drawn there,
    beside the chunks still playing, rather than one after another in this process.
    """
    write_csv(outdir / "curve.csv", curve)  # share of worlds with each class in force, day by day
    if first is not None:  # share of worlds where each deal class has been in force by each day
        write_csv(outdir / "first.csv", first)
    write_csv(outdir / "shares.csv", shares)
    write_json(outdir / "manifest.json", manifest)
    if isinstance(pool, ProcessPoolExecutor):  # a remote cluster would draw on its own disks
        return pool.submit(plots.plot_run, outdir, sc, curve, shares, first)
    plots.plot_run(outdir, sc, curve, shares, first)
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
