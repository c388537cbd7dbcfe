"""Sweeps: addressing any numeric field, failing fast on bad input, resuming after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.errors import UserError
from sim.experiments import sweeps
from sim.experiments.tally import class_order, shares
from sim.scenario import load_raw, load_scenario, set_path, validate

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def numeric_leaves(node: object, prefix: str = "") -> dict[str, float]:
    """Every int/float leaf of a nested dict (bools excluded), by dotted path."""
    out: dict[str, float] = {}
    if isinstance(node, dict):
        for k, v in node.items():
            out |= numeric_leaves(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(node, int | float) and not isinstance(node, bool):
        out[prefix] = node
    return out


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(BASELINE)


# ---------------------------------------------------------------- addressing


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_numeric_field_of_every_bundled_scenario_is_addressable(path):
    sc = load_scenario(path)
    raw = sc.model_dump(exclude={"name", "path", "sha256"})
    leaves = numeric_leaves(raw)
    assert len(leaves) > 20
    for dotted, value in leaves.items():
        axis = sweeps.make_axis(raw, dotted, [value])
        assert axis.integer == isinstance(value, int)
        point = sweeps.build_point(sc, raw, [axis], [axis.values[0]])
        assert sweeps.lookup(sweeps.scenario_raw(point.scenario), dotted) == value
        with pytest.raises(UserError, match="no field"):
            sweeps.make_axis(raw, dotted + "_bogus", [value])
        with pytest.raises(UserError, match="no field"):
            sweeps.make_axis(raw, dotted + ".deeper", [value])


def test_fields_left_at_their_defaults_are_addressable(baseline):
    raw = sweeps.scenario_raw(baseline)
    paths = set(sweeps.numeric_paths(raw))
    # none of these is written in baseline.toml
    written = load_raw(BASELINE)
    for dotted in (
        "parties.russia.veto.war_weight",
        "levers.us_sanctions.from_day",
        "events.leaders_call.from_day",
        "mediator.listening",
    ):
        assert dotted in paths
        with pytest.raises(KeyError):
            set_path(written, dotted, 1)  # not in the file: the validated scenario's default
    plan = sweeps.plan_sweep(baseline, {"levers.us_sanctions.from_day": [7, 21]})
    assert [p.scenario.levers["us_sanctions"].from_day for p in plan.points] == [7, 21]
    assert plan.axes[0].baseline == 0 and plan.axes[0].integer


def test_the_varied_value_reaches_the_scenario(baseline):
    plan = sweeps.plan_sweep(
        baseline, {"dynamics.momentum.drift": [-0.001, 0.002], "parties.russia.war.land.mean": [0.0, 0.004]}
    )
    got = [
        (p.scenario.dynamics.momentum.drift, p.scenario.parties["russia"].war["land"].mean)
        for p in plan.points
    ]
    assert got == [(-0.001, 0.0), (-0.001, 0.004), (0.002, 0.0), (0.002, 0.004)]
    assert all(p.scenario.parties["russia"].war["land"].sd == 0.002 for p in plan.points)
    assert len({p.key for p in plan.points}) == 4


def test_a_weight_is_varied_with_the_others_rescaled(baseline):
    before = {k: v.weight for k, v in baseline.parties["russia"].positions.items()}
    (point,) = sweeps.plan_sweep(baseline, {"parties.russia.positions.kursk.weight": [0.5]}).points
    after = {k: v.weight for k, v in point.scenario.parties["russia"].positions.items()}
    assert after["kursk"] == 0.5 != before["kursk"]
    assert sum(after.values()) == pytest.approx(1.0)
    for k in before:
        if k != "kursk":
            assert after[k] / before[k] == pytest.approx(0.5 / (1 - before["kursk"]))
    assert point.scenario.parties["ukraine"] == baseline.parties["ukraine"]


def test_integer_fields_take_whole_number_grids_only(baseline):
    spec = "calendar.horizon_days=28:112:4"
    assert sweeps.vary_from_specs([spec]) == {"calendar.horizon_days": [28.0, 56.0, 84.0, 112.0]}
    plan = sweeps.plan_sweep(baseline, sweeps.vary_from_specs([spec]))
    assert [p.scenario.calendar.horizon_days for p in plan.points] == [28, 56, 84, 112]
    assert [p.scenario.days for p in plan.points] == [28, 56, 84, 112]
    assert all(isinstance(v, int) for v in plan.axes[0].values)
    with pytest.raises(UserError, match="whole numbers"):
        sweeps.plan_sweep(baseline, sweeps.vary_from_specs(["calendar.horizon_days=30:100:4"]))


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        ("parties.russia.marign.mean=0.05:0.3:3", "no field 'parties.russia.marign.mean'"),
        ("parties.nobody.margin.mean=0.05:0.3:3", "no field"),
        ("parties.russia.war.sea.mean=0:0.01:3", "parties.russia.war has: land, energy, air_sea"),
        ("rounds=5:20:4", "no field 'rounds'"),
        ("parties.russia.reservation.mean=0.3:0.6:3", "no field 'parties.russia.reservation.mean'"),
        ("parties.us.veto.slope=0.01:0.1:3", "not set in this scenario"),
        ("parties.russia.label=0:1:3", "not a number"),
        ("parties.russia.required=0:1:2", "not a number"),
        ("levers.us_sanctions=0:1:3", "not a number"),
        ("events.leaders_call.daily_probability=0:1.5:4", "less than or equal to 1"),
        ("truce.violations.daily_probability=-0.5:0.5:3", "greater than or equal to 0"),
        ("parties.russia.margin.sd=-0.1:0.1:3", "greater than or equal to 0"),
        ("parties.russia.margin.mean=-0.1:0.1:3", "must be >= 0"),
        ("parties.russia.concession.mean=0:1:3", "must be > 0"),
        ("truce.days=0:60:3", "greater than or equal to 1"),
        ("parties.russia.positions.kursk.weight=0.5:1.5:3", "weights sum to more than 1"),
        ("calendar.horizon_days=1:10:3", "whole numbers"),
        ("dynamics.momentum.drift=0:0.1", "expected PATH=LO:HI:N"),
        ("dynamics.momentum.drift=a:0.1:3", "must be numbers"),
        ("dynamics.momentum.drift=0:0.1:0", "at least 1"),
    ],
)
def test_bad_paths_and_values_fail_fast_with_one_line(tmp_path, capsys, vary, message):
    out = tmp_path / "out"
    cached = out / "baseline" / "sweep" / "points" / "keep.json"
    cached.parent.mkdir(parents=True)
    cached.write_text("{}")
    code = main(
        ["sweep", str(BASELINE), "--vary", vary, "-n", "50", "--workers", "1", "--out", str(out), "--fresh"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("negsim: error: ") and err.count("\n") == 1
    assert message in err
    # nothing written, and --fresh did not get to delete earlier work
    assert sorted(p.name for p in out.rglob("*")) == ["baseline", "keep.json", "points", "sweep"]


def test_a_bad_point_is_reported_before_any_work(baseline, monkeypatch):
    def boom(*args):
        raise AssertionError("a chunk ran before every point was validated")

    monkeypatch.setattr(sweeps, "chunk_counts", boom)
    with pytest.raises(UserError, match="daily_probability=1.2"):
        sim.sweep(baseline, {"events.leaders_call.daily_probability": [0.2, 0.6, 1.2]}, replications=20)


def test_cli_exit_code_is_2_in_a_real_process(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "sweep", str(BASELINE), "--vary", "nope=0:1:2", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no field 'nope'" in proc.stderr
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------- what a point is


def test_each_point_is_a_full_run_of_the_modified_scenario(baseline):
    path = "parties.russia.war.land.mean"
    frame = sim.sweep(BASELINE, {path: [0.0, 0.004]}, replications=300, seed=7).frame
    assert list(frame.columns) == [path, "outcome", "count", "n", "share", "lo", "hi"]
    for value in (0.0, 0.004):
        raw = set_path(load_raw(BASELINE), path, value)
        sc = validate(raw, BASELINE)
        run = sim.run(sc, replications=300, seed=7)
        expected = shares(run.outcomes, class_order(sim.OutcomeSpace(sc)))
        got = frame[frame[path] == value]
        assert got["outcome"].tolist() == expected["outcome"].tolist() == run.shares["outcome"].tolist()
        assert got["count"].tolist() == expected["count"].tolist() == run.shares["count"].tolist()
        np.testing.assert_allclose(got[["share", "lo", "hi"]], expected[["share", "lo", "hi"]])
    full = frame[frame["outcome"] == "full_ceasefire"].set_index(path)["count"]
    assert full[0.004] < full[0.0]  # a Moscow that gains more by fighting on land signs fewer full truces


def test_classes_partition_every_point(baseline):
    frame = sim.sweep(baseline, {"calendar.horizon_days": [7, 182]}, replications=200).frame
    classes = frame[frame["outcome"] != "any_agreement"].groupby("calendar.horizon_days")["count"].sum()
    assert classes.tolist() == [200, 200]
    total = frame[frame["outcome"] == "any_agreement"].set_index("calendar.horizon_days")["count"]
    no_deal = frame[frame["outcome"] == "no_agreement"].set_index("calendar.horizon_days")["count"]
    assert (total + no_deal).tolist() == [200, 200]
    assert ((frame["lo"] <= frame["share"]) & (frame["share"] <= frame["hi"])).all()
    assert frame["calendar.horizon_days"].dtype.kind == "i"


def test_cached_points_are_reused_not_rerun(tmp_path, baseline, monkeypatch):
    vary = {"dynamics.momentum.drift": [0.0, 0.002]}
    first = sim.sweep(baseline, vary, replications=200, cache_dir=tmp_path).frame
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 2
    data = json.loads(files[0].read_text())
    assert data["replications"] == 200 and data["outcomes"][-2:] == ["no_agreement", "any_agreement"]

    def boom(*args):
        raise AssertionError("a cached point ran again")

    monkeypatch.setattr(sweeps, "chunk_counts", boom)
    again = sim.sweep(baseline, vary, replications=200, cache_dir=tmp_path).frame
    assert again.equals(first)
    with pytest.raises(AssertionError, match="ran again"):  # other replications: a different key
        sim.sweep(baseline, vary, replications=201, cache_dir=tmp_path)


# ---------------------------------------------------------------- resume after SIGKILL

KILL_GRID = [
    "--vary",
    "parties.russia.margin.mean=0.05:0.3:6",
    "--vary",
    "dynamics.momentum.drift=0:0.003:4",
]
KILL_POINTS, KILL_REPS = 6 * 4, 200


def sweep_cmd(out: Path) -> list[str]:
    args = [str(BASELINE), *KILL_GRID, "-n", str(KILL_REPS), "--workers", "1", "--out", str(out)]
    return [sys.executable, "-m", "sim", "sweep", *args]


def test_a_killed_sweep_resumes_to_the_same_bytes(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    points = killed / "baseline" / "sweep" / "points"
    proc = subprocess.Popen(sweep_cmd(killed), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(points.glob("*.json"))) < 3:
        assert proc.poll() is None, "the sweep ended before it could be killed; make the grid bigger"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    files = [p for p in killed.rglob("*") if p.is_file()]
    assert not [p for p in files if p.name.endswith(".part")]
    assert not (killed / "baseline" / "sweep" / "sweep.csv").exists()  # it was killed mid-sweep
    done = sorted(points.glob("*.json"))
    assert 3 <= len(done) < KILL_POINTS and len(done) == len(files)
    for p in done:  # every file present is whole
        data = json.loads(p.read_text())
        assert p.stem == data["key"] and sum(data["counts"][:-1]) == KILL_REPS

    resumed = subprocess.run(sweep_cmd(killed), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{KILL_POINTS} points ({len(done)} reused)" in resumed.stdout
    fresh = subprocess.run(sweep_cmd(clean), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert fresh.returncode == 0, fresh.stderr
    assert "(0 reused)" in fresh.stdout

    a = (killed / "baseline" / "sweep" / "sweep.csv").read_bytes()
    b = (clean / "baseline" / "sweep" / "sweep.csv").read_bytes()
    assert a == b and a.count(b"\n") == 1 + KILL_POINTS * 5
    for name in ("heatmap_any_agreement.png", "heatmap_full_ceasefire.png", "report.html", "manifest.json"):
        assert (killed / "baseline" / "sweep" / name).stat().st_size > 0
    manifest = json.loads((killed / "baseline" / "sweep" / "manifest.json").read_text())
    assert manifest["points_reused"] == len(done) and manifest["axes"] == [
        a.split("=")[0] for a in KILL_GRID[1::2]
    ]


def test_fresh_forgets_finished_points(tmp_path):
    args = [
        "sweep",
        str(BASELINE),
        "--vary",
        "calendar.horizon_days=28:84:3",
        "-n",
        "100",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    points = tmp_path / "baseline" / "sweep" / "points"
    stale = points / ("0" * 64 + ".json")
    stale.write_text("{}")
    first = {p.name: p.stat().st_mtime_ns for p in points.glob("*.json")}
    assert main([*args, "--fresh"]) == 0
    second = {p.name: p.stat().st_mtime_ns for p in points.glob("*.json")}
    assert stale.name not in second
    assert set(second) == set(first) - {stale.name}
    assert all(second[k] != first[k] for k in second)  # rewritten, not reused


def test_a_resumed_sweep_tidies_temporary_files_left_by_a_killed_run(tmp_path):
    points = tmp_path / "points"
    points.mkdir()
    stale, fresh = points / ".abc.json.x1.part", points / ".def.json.x2.part"
    stale.write_text("{")
    fresh.write_text("{")
    old = time.time() - 2 * sweeps.STALE_SECONDS
    os.utime(stale, (old, old))
    sweeps.PointCache(points)
    assert not stale.exists()
    assert fresh.exists()  # may belong to a sweep writing here right now
