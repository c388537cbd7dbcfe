"""One interface for where chunks run: same bytes in-process, on a process pool, on a Dask cluster."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from concurrent.futures import Executor, Future
from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.errors import UserError
from sim.experiments import sweeps
from sim.experiments.chunks import CHUNK
from sim.experiments.executors import executor_for
from sim.experiments.tally import class_order, shares

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
RUN_REPS = CHUNK + 57  # two chunks, the second one short
SWEEP = [
    "--vary",
    "parties.russia.margin.mean=0.05:0.2:3",
    "--vary",
    "calendar.horizon_days=70:182:2",
    "-n",
    "300",
]
EXECUTORS = {"in-process": ["--workers", "1"], "pool": ["--workers", "2"]}
EXECUTORS["dask-local"] = ["--executor", "dask-local", "--workers", "2"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    """Run and sweep the baseline once per executor, through the command line."""
    out = {}
    for name, options in EXECUTORS.items():
        folder = tmp_path_factory.mktemp(name)
        assert main(["run", str(BASELINE), "-n", str(RUN_REPS), "--out", str(folder), *options]) == 0
        assert main(["sweep", str(BASELINE), *SWEEP, "--out", str(folder), *options]) == 0
        out[name] = folder / "baseline"
    return out


@pytest.mark.parametrize(
    "name", ["outcomes.csv", "history.csv", "series.csv", "curve.csv", "sweep/sweep.csv"]
)
def test_outputs_are_byte_identical_whatever_runs_the_chunks(outputs, name):
    reference = (outputs["in-process"] / name).read_bytes()
    assert reference.count(b"\n") > 10
    for executor in ("pool", "dask-local"):
        assert (outputs[executor] / name).read_bytes() == reference, executor


def test_a_comparisons_figures_are_the_same_drawn_here_or_on_the_pool(tmp_path):
    """With a process pool every figure is drawn in a worker, each from its own arguments: a
    figure handed the wrong class or scenario would differ from the one drawn in this process."""
    files = [str(BASELINE), str(ROOT / "scenarios" / "hardliners.toml")]
    pngs = {}
    for name, options in (("here", ["--workers", "1"]), ("pool", ["--workers", "2"])):
        folder = tmp_path / name
        assert main(["compare", *files, "-n", "200", "--out", str(folder), *options]) == 0
        pngs[name] = {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*.png"))}
    assert len([p for p in pngs["here"] if p.parts[0] == "compare"]) >= 4
    assert pngs["pool"] == pngs["here"]


def test_the_run_spans_several_chunks(outputs):
    lines = (outputs["pool"] / "outcomes.csv").read_bytes().count(b"\n")
    assert lines == RUN_REPS + 1 and RUN_REPS > CHUNK


class Recording(Executor):
    """Runs each task when submitted; logs submissions so the test sees when work was handed out."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def submit(self, fn, /, *args, **kwargs) -> Future:
        self.log.append("submit")
        f: Future = Future()
        f.set_result(fn(*args, **kwargs))
        return f


def test_a_sweep_hands_out_every_chunk_of_every_point_at_once(monkeypatch):
    log: list[str] = []
    put = sweeps.PointCache.put
    monkeypatch.setattr(sweeps.PointCache, "put", lambda self, *a: (log.append("done"), put(self, *a)))
    vary = {"parties.russia.margin.mean": [0.05, 0.2]}
    frame = sim.sweep(BASELINE, vary, replications=CHUNK + 5, executor=Recording(log)).frame
    assert log == ["submit"] * 4 + ["done"] * 2  # two points of two chunks each, all submitted first

    for value in (0.05, 0.2):  # the chunks of a point add up to the full run of that point
        plan = sweeps.plan_sweep(sim.load_scenario(BASELINE), {"parties.russia.margin.mean": [value]})
        sc = plan.points[0].scenario
        expected = shares(sim.run(sc, replications=CHUNK + 5).outcomes, class_order(sim.OutcomeSpace(sc)))
        got = frame[frame["parties.russia.margin.mean"] == value]
        assert got["count"].tolist() == expected["count"].tolist()


def test_an_existing_dask_scheduler_is_reached_by_address():
    distributed = pytest.importorskip("distributed")
    vary = {"dynamics.momentum.drift": [0.0, 0.002]}
    local = sim.sweep(BASELINE, vary, replications=200).frame
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        port = cluster.scheduler_address.rsplit(":", 1)[1]
        with executor_for(f"dask://127.0.0.1:{port}") as ex:
            remote = sim.sweep(BASELINE, vary, replications=200, executor=ex).frame
            compared = sim.compare([BASELINE], replications=200, executor=ex).table
    assert remote.equals(local)
    assert compared.drop(columns="scenario").equals(
        sim.compare(BASELINE, replications=200).table.drop(columns="scenario")
    )


def test_dask_missing_is_a_one_line_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(UserError, match=r"pip install 'negsim\[dask\]'"), executor_for("dask-local", 2):
        pass


def test_bad_executor_specs_are_user_errors():
    from sim.experiments.dask_executor import scheduler_address

    assert scheduler_address("dask://host:8786") == "tcp://host:8786"
    assert scheduler_address("tcp://10.0.0.2:8786") == "tcp://10.0.0.2:8786"
    for spec in ("dask://", "dask://host"):
        with pytest.raises(UserError, match="dask://HOST:PORT"):
            scheduler_address(spec)
    with pytest.raises(UserError, match="unknown executor"), executor_for("ray", 2):
        pass


# ---------------------------------------------------------------- the Python API


def test_compare_returns_one_row_per_scenario_and_outcome():
    sc = sim.load_scenario(BASELINE)
    two_weeks = sc.calendar.model_copy(update={"horizon_days": 14})
    harder = sc.model_copy(update={"name": "short_talks", "calendar": two_weeks})
    assert harder.days == 14
    comparison = sim.compare([BASELINE, harder], replications=300, seed=3)
    frame = comparison.table
    assert list(frame.columns)[:4] == ["scenario", "title", "reference", "outcome"]
    assert {"label", "kind", "count", "n", "share", "lo", "hi", "diff", "diff_lo", "diff_hi"} <= set(frame)
    assert list(comparison.runs) == ["baseline", "short_talks"]
    assert comparison.verdicts == []  # neither states a hypothesis
    outcomes = [*sc.classes, "no_agreement", "any_agreement"]
    assert frame["scenario"].tolist() == ["baseline"] * len(outcomes) + ["short_talks"] * len(outcomes)
    assert frame["outcome"].tolist() == outcomes * 2
    expected = shares(sim.run(sc, replications=300, seed=3).outcomes, class_order(sim.OutcomeSpace(sc)))
    assert frame.iloc[: len(outcomes)]["count"].tolist() == expected["count"].tolist()
    short = comparison.runs["short_talks"]
    assert short.curve["day"].max() == 14
    rows = frame[frame["scenario"] == "short_talks"].set_index("outcome")["count"]
    assert short.shares.set_index("outcome")["count"].to_dict() == rows.to_dict()
    # Nothing a party computes reads the horizon: the two weeks are the baseline's first two weeks.
    base = comparison.runs["baseline"].curve
    cols = ["day", "outcome", "count", "share"]
    first = base[base["day"] <= 14][cols].reset_index(drop=True)
    assert first.equals(short.curve[cols].reset_index(drop=True))


# ---------------------------------------------------------------- progress bars


def test_no_progress_output_when_not_a_terminal(tmp_path):
    for command in (
        ["sweep", str(BASELINE), *SWEEP, "--workers", "1"],
        ["compare", str(BASELINE), "-n", "300"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "sim", *command, "--out", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        for stream in (proc.stdout, proc.stderr):
            assert "\r" not in stream and "%|" not in stream and "it/s" not in stream
        assert "baseline" in proc.stdout


def test_a_progress_bar_is_shown_on_a_terminal(tmp_path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a width
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        str(BASELINE),
        *SWEEP,
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child has closed the terminal
            break
        if not data:
            break
        seen += data
    os.close(master)
    assert proc.wait(timeout=300) == 0
    assert b"baseline sweep" in seen and b"%|" in seen and b"/6 [" in seen
    assert b"%|" not in proc.stdout.read()
