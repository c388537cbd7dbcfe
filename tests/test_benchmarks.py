"""The benchmark script runs end to end in quick mode and records every measurement.

Timings are never asserted: a slow machine must not fail the tests. What must hold is that each
measurement was taken (a positive number), or, for ``negsim sweep`` only, that the command does
not exist yet and is recorded as "unavailable".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "benchmarks.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--repeat", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # every section at its smallest, each engine run in a fresh process: about 13 minutes on a
        # 2-core machine busy with a test run, a few when idle (the engine with counter-proposals)
        timeout=1800,
    )
    assert out.exists(), f"no JSON written (exit {proc.returncode}):\n{proc.stderr}"
    return proc, json.loads(out.read_text())


def is_positive(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def sweep_command_exists() -> bool:
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "sweep", "--help"], cwd=ROOT, capture_output=True, timeout=60
    )
    return proc.returncode == 0


def test_exits_cleanly_and_prints_the_table(quick_run):
    proc, data = quick_run
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[1]
    assert header.split() == ["measurement", "value", "unit", "target", "met"]
    for m in data["measurements"].values():
        assert m["label"] in proc.stdout


def test_records_machine_versions_and_parameters(quick_run):
    _, data = quick_run
    assert data["mode"] == "quick"
    assert data["cpu_count"] >= 1
    assert data["python"].count(".") == 2
    assert data["date"]
    for dist in ("negsim", "mesa", "numpy"):
        assert data["versions"][dist]
    assert "OPENBLAS_CORETYPE_set" in data["environment"]
    assert data["environment"]["OMP_NUM_THREADS"] == "1"
    params = data["parameters"]
    assert params["repeat"] == 1
    assert params["scenario"] == "scenarios/baseline.toml"


def test_engine_memory_and_startup_measurements(quick_run):
    _, data = quick_run
    params, ms = data["parameters"], data["measurements"]
    keys = [f"ensemble_{n}" for n in params["ensemble_sizes"]]
    keys += ["looped", "ensemble_vs_looped", "rss_import", "help_console", "help_module"]
    keys += [f"rss_peak_{n}" for n in params["memory_sizes"]]
    for key in keys:
        assert key in ms, key
        assert is_positive(ms[key]["value"]), (key, ms[key])
        assert ms[key]["unit"]
    for n in params["memory_sizes"]:
        increment = ms[f"rss_increment_{n}"]["value"]
        assert isinstance(increment, float) and increment >= 0
        assert ms[f"rss_peak_{n}"]["value"] >= ms["rss_import"]["value"]
    # the ratio is computed from the two rates measured in the same invocation
    largest = ms[f"ensemble_{params['ensemble_sizes'][-1]}"]["value"]
    assert ms["ensemble_vs_looped"]["value"] == pytest.approx(largest / ms["looped"]["value"])


def test_compare_measured_with_one_and_two_workers(quick_run):
    _, data = quick_run
    for w in data["parameters"]["compare_workers"]:
        m = data["measurements"][f"compare_w{w}"]
        assert is_positive(m["value"]), m
        assert m["workers"] == w
        assert m["n_scenarios"] >= 1


def test_sweep_measured_or_unavailable(quick_run):
    _, data = quick_run
    m = data["measurements"][f"sweep_w{data['parameters']['sweep_workers']}"]
    if sweep_command_exists():
        assert is_positive(m["value"]), m
        assert m["points"] == data["parameters"]["sweep_points"] ** 2
    else:
        assert m["value"] == "unavailable"


def test_the_swept_parameters_are_numeric_fields_of_the_scenario(quick_run):
    from sim.experiments import sweeps
    from sim.scenario import load_scenario

    _, data = quick_run
    raw = sweeps.scenario_raw(load_scenario(ROOT / data["parameters"]["scenario"]))
    axes = data["parameters"]["sweep_axes"]
    assert len(axes) == 2
    for axis in axes:
        path, _, grid = axis.partition("=")
        lo, hi = map(float, grid.split(":"))
        assert sweeps.numeric_kind(raw, path) is float, path
        assert lo <= sweeps.lookup(raw, path) <= hi, f"{axis}: the grid does not span the scenario's value"


def test_targets_are_reported_not_enforced(quick_run):
    _, data = quick_run
    for m in data["measurements"].values():
        assert m["met"] in (True, False, None)


def test_update_and_calibrate_measured(quick_run):
    _, data = quick_run
    ms = data["measurements"]
    for key in ("update_weigh", "update_total", "calibrate_rate", "calibrate_populations"):
        assert key in ms, key
        assert is_positive(ms[key]["value"]), (key, ms[key])
    assert ms["calibrate_rate"]["simulated_worlds"] > 0
    temps = ms["calibrate_populations"]["temperatures"]
    assert 1 <= len(temps) <= data["parameters"]["calibrate"]["generations"]
    assert temps[-1] == 1.0 and temps == sorted(temps, reverse=True)  # tempered down to the exact posterior


def test_engine_rates_growth_compile_and_chunk_memory(quick_run):
    _, data = quick_run
    ms, params = data["measurements"], data["parameters"]
    for spec in params["rate_scenarios"]:
        m = ms[f"cpu_rate_{spec.replace(':', '_')}"]
        assert is_positive(m["value"]) and is_positive(m["wall_rate"]), m
        assert len(m["sha256"]) == 64  # the scenario measured is identified
        assert m["engine"] == str(ROOT)  # this checkout's engine, not another on the path
    assert ms["cpu_rate_packages_4"]["packages"] >= 1_000
    assert ms["cpu_vs_looped"]["value"] == pytest.approx(
        ms["cpu_rate_baseline"]["value"] / ms["cpu_looped"]["value"]
    )
    for dim in ("replications", "parties", "packages", "horizon"):
        m = ms[f"growth_{dim}"]
        assert isinstance(m["value"], float) and len(m["sizes"]) >= 2, m
        assert m["sizes"] == sorted(m["sizes"]) and m["sizes"][0] < m["sizes"][-1]
    assert is_positive(ms["compile_cold"]["value"])
    assert is_positive(ms["chunk_memory"]["value"]) and ms["chunk_memory"]["replications"] == 4096
    top = data["profile"]["top"]
    assert len(top) == 10 and all(row["own_s"] >= 0 for row in top)
