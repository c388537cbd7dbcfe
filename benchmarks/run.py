"""Benchmarks of negsim on the baseline scenario: engine speed, CLI end to end, memory, start-up.

Usage:
    python benchmarks/run.py [--quick] [--repeat K] [--only SECTIONS] [--before TREE] [--out FILE]

Each timing is the median of K runs (default 5; 2 in ``--quick`` mode, which also shrinks every
workload so that it finishes in seconds). The script prints a table of measurement, value, unit,
target and whether the target is met, and writes the same numbers, with the parameters, versions
and machine facts, to a JSON file (atomically). Targets are reported, never enforced: the exit
code is 0 unless a measurement could not be taken at all (a command crashed); a command that does
not exist yet is recorded as "unavailable".

Measurements:
    ensemble_<n>          replications/s of ``sim.experiments.chunks.run_chunks`` in this process (world
                          draws included; loading the scenario is not timed)
    looped                replications/s of one ``NegotiationModel(replications=1)`` per replication
    ensemble_vs_looped    ratio of the two, from the largest ensemble measured in this invocation
    compare_w<W>          wall time of ``negsim compare`` over the scenarios folder, W workers
    sweep_w2              wall time of a 2-D ``negsim sweep`` on the baseline, 2 workers
    rss_import            peak resident memory after importing the engine and loading the scenario
    rss_peak_<n>          peak resident memory of a process that runs n replications
    rss_increment_<n>     the same, less rss_import
    help_console          ``negsim --help`` start-up (the console script)
    help_module           ``python -m sim --help`` start-up
    cpu_rate_<scenario>   replications per CPU-second (and wall) of one chunk-sized run of the
                          baseline, europe and a generated domain of 1,152 packages, each in a
                          fresh process (benchmarks/engine.py), with the scenario's hash
    cpu_looped            the same for a loop of ``NegotiationModel(replications=1)``, and
    cpu_vs_looped         the baseline's rate over it
    before_<scenario>,    with ``--before TREE`` (a checkout of an earlier commit): the same rates
    speedup_<scenario>    from that tree's engine in the same invocation, and ours over theirs
    growth_<dimension>    exponent b of CPU time ~ size^b in replications, parties, packages and
                          horizon (least squares on log-log over the sizes measured)
    compile_cold          seconds to compile every kernel into an empty cache
    chunk_memory          peak resident memory of playing one chunk of 4,096 worlds, above the
                          process after imports and a warm-up
The JSON also holds ``profile``: the ten functions with the most own time (cProfile) on the baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.toml"
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
UNAVAILABLE = "unavailable"
FAILED = "failed"

# Workloads. Full sizes are the ones the performance targets are stated for.
FULL = {
    "ensemble_sizes": [1_000, 10_000, 100_000],
    "looped_instances": 200,
    "compare_replications": 10_000,
    "compare_scenarios": None,  # every *.toml directly in scenarios/
    "compare_workers": [1, 2],
    "sweep_points": 21,
    "sweep_replications": 1_000,
    "sweep_workers": 2,
    "memory_sizes": [100_000, 1_000_000],
    "update_worlds": 2_000,
    "calibrate": {"population": 100, "generations": 6, "worlds": 20},
    "posterior_run": {"worlds": 4_096, "particles": 100},
    "repeat": 5,
    "rate_replications": 4_096,
    "rate_scenarios": ["baseline", "europe", "packages:4"],
    "rate_looped": 100,
    "growth": {
        "replications": ("baseline", [1_024, 4_096, 16_384]),
        "parties": (["parties:0", "parties:3", "parties:9"], 2_048),
        "packages": (["packages:2", "packages:4", "packages:8"], 2_048),
        "horizon": (["horizon:91", "horizon:182", "horizon:364"], 2_048),
    },
    "profile_replications": 4_096,
}
QUICK = {
    "ensemble_sizes": [500, 1_000],
    "looped_instances": 10,
    "compare_replications": 300,
    "compare_scenarios": 2,
    "compare_workers": [1, 2],
    "sweep_points": 3,
    "sweep_replications": 100,
    "sweep_workers": 2,
    "memory_sizes": [5_000],  # more than one chunk of 4,096 worlds
    "update_worlds": 300,
    "calibrate": {"population": 8, "generations": 2, "worlds": 5},
    "posterior_run": {"worlds": 300, "particles": 10},
    "repeat": 2,
    "rate_replications": 512,
    "rate_scenarios": ["baseline", "packages:4"],
    "rate_looped": 5,
    "growth": {
        "replications": ("baseline", [128, 512]),
        "parties": (["parties:0", "parties:3"], 128),
        "packages": (["packages:2", "packages:4"], 128),
        "horizon": (["horizon:91", "horizon:182"], 128),
    },
    "profile_replications": 512,
}
SWEEP_AXES = [
    ("parties.russia.margin.mean", 0.05, 0.3),
    ("dynamics.momentum.drift", -0.001, 0.003),
]

# Targets of the performance issue, for the full workloads on a 2-core machine.
REPS_PER_S_TARGET = 100_000  # per core; the ensemble runs on one core
RATIO_TARGET = 200
COMPARE_TARGET_S = 3.0  # 8 scenarios x 10,000 replications, 2 workers
SWEEP_TARGET_S = 10.0  # 21 x 21 x 1,000, 2 workers
MEMORY_TARGET_MB = 250.0  # 1,000,000 replications
HELP_TARGET_S = 0.3
CPU_RATE_TARGET = 50_000  # replications per CPU-second, baseline, one process
SPEEDUP_TARGET = 25  # over the engine before the compiled kernels, same run
LOOPED_TARGET = 500  # over a loop of single-world models
CHUNK_MEMORY_TARGET_MB = 64.0  # one chunk of 4,096 worlds, above the import
COMPILE_TARGET_S = 10.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    """The environment for every subprocess: one BLAS/OpenMP thread, everything else inherited."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def measurement(
    value: Any,
    unit: str,
    label: str,
    target: str | None = None,
    met: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {"label": label, "value": value, "unit": unit, "target": target, "met": met, **extra}


def median_time(fn: Callable[[], None], repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


class CommandFailed(RuntimeError):
    pass


def run_command(cmd: list[str], timeout: float = 3600) -> float:
    """Wall seconds of one subprocess run; raise CommandFailed with its stderr tail if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise CommandFailed(f"exit {proc.returncode}: " + " | ".join(tail))
    return wall


def median_command(make_cmd: Callable[[Path], list[str]], repeat: int) -> tuple[float, list[float]]:
    """Median wall time of a command, each run writing into a fresh temporary folder."""
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="negsim-bench-") as tmp:
            times.append(run_command(make_cmd(Path(tmp))))
    return statistics.median(times), times


def failed(label: str, unit: str, target: str | None, err: Exception) -> dict[str, Any]:
    log(f"  FAILED: {err}")
    return measurement(FAILED, unit, label, target, None, error=str(err))


# ---------------------------------------------------------------------------- engine, in process


def bench_engine(cfg: dict, repeat: int, quick: bool) -> dict[str, dict]:
    import numpy as np

    from sim.engine.model import NegotiationModel
    from sim.experiments.chunks import run_chunks
    from sim.scenario import load_scenario

    sc = load_scenario(BASELINE)
    seed = sc.seed
    run_chunks(sc, seed, 1_024)  # warm-up: imports, compiled outcome space, caches
    out: dict[str, dict] = {}
    rate = 0.0
    for n in cfg["ensemble_sizes"]:
        log(f"ensemble: {n:,} replications x {repeat}")
        t, times = median_time(lambda n=n: run_chunks(sc, seed, n), repeat)
        rate = n / t
        out[f"ensemble_{n}"] = measurement(
            rate,
            "reps/s",
            f"ensemble, {n:,} replications, 1 process",
            f">= {REPS_PER_S_TARGET:,}",
            rate >= REPS_PER_S_TARGET,
            replications=n,
            runs_s=times,
        )

    k = cfg["looped_instances"]

    def looped() -> None:
        for i in range(k):
            NegotiationModel(sc, replications=1, rng=np.random.default_rng([seed, i])).run()

    log(f"looped: {k} models of 1 replication x {repeat}")
    NegotiationModel(sc, replications=1, rng=np.random.default_rng(seed)).run()  # warm-up
    t, times = median_time(looped, repeat)
    looped_rate = k / t
    out["looped"] = measurement(
        looped_rate,
        "reps/s",
        f"one model per replication, {k} models looped",
        instances=k,
        runs_s=times,
    )
    ratio = rate / looped_rate
    biggest = cfg["ensemble_sizes"][-1]
    out["ensemble_vs_looped"] = measurement(
        ratio,
        "x",
        f"ensemble ({biggest:,}) / looped, per replication",
        f">= {RATIO_TARGET}",
        ratio >= RATIO_TARGET,
        ensemble_replications=biggest,
    )
    return out


# ---------------------------------------------------------------------------- forecasts that learn

OBSERVED = "scenarios/observed/spring_2025.toml"


def bench_forecast(cfg: dict, repeat: int, quick: bool) -> dict[str, dict]:
    """update: worlds weighed per second (the particle filter's weighing, simulation excluded) and
    the whole update of the bundled example; calibrate: simulated worlds per second inside pyabc and
    the populations until the temperature reaches 1 (the exact posterior: pyabc tempers the reports'
    likelihood down to it)."""
    import numpy as np

    from sim.analysis import calibration as K
    from sim.analysis import conditioning as C
    from sim.scenario import load_scenario
    from sim.scenario.observations import load_observations

    sc = load_scenario(BASELINE).model_copy(update={"replications": cfg["update_worlds"]})
    obs = load_observations(ROOT / OBSERVED)
    out: dict[str, dict] = {}
    try:
        log(f"update: {sc.replications:,} worlds x {repeat}")
        prior = C.prior_path(sc)
        items = list(obs.observations.values())
        weigh = lambda: C.ess(C.likelihood(sc, prior, items, 0.1) / sc.replications)  # noqa: E731
        t, times = median_time(lambda: [weigh() for _ in range(20)], repeat)
        out["update_weigh"] = measurement(
            20 * sc.replications / t, "worlds/s", "update: worlds weighed per second", runs_s=times
        )
        t, times = median_time(lambda: C.condition(sc, obs, None, C.Settings(reporting_error=0.1)), repeat)
        out["update_total"] = measurement(
            t,
            "s",
            f"update of the baseline on {OBSERVED}, {sc.replications:,} worlds, forks included",
            runs_s=times,
        )
    except Exception as e:  # noqa: BLE001
        out["update_total"] = failed("update", "s", None, e)
    c = cfg["calibrate"]
    try:
        log(f"calibrate: {c['population']} particles x {c['generations']} populations x {c['worlds']} worlds")
        base = load_scenario(BASELINE)
        params = K.parse_params(base, [])
        cpu0 = time.process_time()  # the mapping sampler runs in this process: CPU time is its work
        with tempfile.TemporaryDirectory() as tmp:
            cal = K.calibrate(
                base, obs, params, Path(tmp) / "h.db", c["population"], c["generations"], c["worlds"]
            )
        cpu = time.process_time() - cpu0
        pops = cal.populations
        worlds = int(pops["samples"].sum()) * c["worlds"]
        eps = pops["epsilon"].to_numpy()  # the exact method's temperatures, ending at 1
        exact = np.flatnonzero(eps <= 1.0)
        converged = int(exact[0] + 1) if exact.size else None
        out["calibrate_rate"] = measurement(
            worlds / cal.seconds,
            "worlds/s",
            "calibrate: simulated worlds per second inside pyabc",
            simulated_worlds=worlds,
            abc_seconds=cal.seconds,
            cpu_seconds=cpu,
            worlds_per_cpu_second=worlds / cpu,
            **c,
        )
        out["calibrate_populations"] = measurement(
            converged if converged is not None else len(eps),
            "populations",
            "calibrate: populations until the temperature reaches 1 (the exact posterior)",
            temperatures=[float(e) for e in eps],
            converged=converged is not None,
        )
    except Exception as e:  # noqa: BLE001
        out["calibrate_rate"] = failed("calibrate", "worlds/s", None, e)
    try:
        out.update(bench_posterior_run(cfg["posterior_run"]))
    except Exception as e:  # noqa: BLE001
        out["posterior_run"] = failed("calibrated run", "worlds/CPU-s", None, e)
    return out


def bench_posterior_run(c: dict) -> dict[str, dict]:
    """A calibrated run (``--posterior``): each world draws one of P particles of the Russian margin
    (a workload: P values spread as the file's prior, equal weights), so a chunk is played as one
    group per particle drawn there; worlds per CPU-second beside the same run uncalibrated."""
    import numpy as np

    from sim.analysis import calibration as K
    from sim.experiments.mixture import run_chunk
    from sim.scenario import load_scenario
    from sim.scenario.posterior import Posterior

    sc = load_scenario(BASELINE).model_copy(update={"replications": c["worlds"]})
    values = np.clip(np.random.default_rng(1).normal(0.1, 0.05, c["particles"]), 0.0, None)
    entry = {"prior": "normal", "a": 0.1, "b": 0.05, "in_file": 0.1, "posterior_mean": 0.1}
    entry |= {"posterior_sd": 0.05, "draws": [float(v) for v in values]}
    doc = {"format": 1, "scenario": "baseline", "scenario_sha256": "", "observations": ""}
    doc |= {"observation_ids": [], "worlds_per_particle": 1, "weights": [1 / c["particles"]] * c["particles"]}
    post = Posterior.model_validate(doc | {"parameters": {"parties.russia.margin.mean": entry}})
    calibrated = K.apply_posterior(sc, post)
    log(f"calibrated run: {c['worlds']:,} worlds, {c['particles']} particles")
    rates = {}
    for name, s in (("plain", sc), ("calibrated", calibrated)):
        run_chunk(s, s.seed, 0, min(64, s.replications))  # warm-up, untimed
        t0 = time.process_time()
        for a in range(0, s.replications, 4096):
            run_chunk(s, s.seed, a, min(a + 4096, s.replications))
        rates[name] = s.replications / (time.process_time() - t0)
    return {
        "posterior_run": measurement(
            rates["calibrated"],
            "worlds/CPU-s",
            f"calibrated run ({c['particles']} particles), worlds per CPU-second",
            plain=rates["plain"],
            slowdown=rates["plain"] / rates["calibrated"],
            **c,
        )
    }


# ---------------------------------------------------------------------------- engine, fresh processes

ENGINE_SCRIPT = ROOT / "benchmarks" / "engine.py"


def engine_child(args: list[str], tree: Path | None = None, env: dict[str, str] | None = None) -> Any:
    """Run benchmarks/engine.py with the engine of ``tree`` (default: this checkout); its JSON."""
    full = child_env() | (env or {})
    if tree is not None:
        full["PYTHONPATH"] = os.pathsep.join([str(tree), full["PYTHONPATH"]])
    proc = subprocess.run(
        [sys.executable, str(ENGINE_SCRIPT), *args], cwd=ROOT, env=full, capture_output=True, text=True
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise CommandFailed(f"exit {proc.returncode}: " + " | ".join(tail))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def spec_key(spec: str) -> str:
    return spec.replace(":", "_")


def rates(cfg: dict, repeat: int, tree: Path | None) -> tuple[dict[str, dict], float]:
    """Replications per CPU-second of each scenario, and of the loop of single-world models."""
    n = cfg["rate_replications"]
    runs = engine_child(["rate", ",".join(f"{s}@{n}" for s in cfg["rate_scenarios"]), str(repeat)], tree)
    out = {}
    for r in runs:
        cpu, wall = statistics.median(r["cpu_s"]), statistics.median(r["wall_s"])
        out[r["spec"]] = r | {"rate": n / cpu, "wall_rate": n / wall}
    k = cfg["rate_looped"]
    lo = engine_child(["looped", "baseline", str(k), str(repeat)], tree)
    return out, k / statistics.median(lo["cpu_s"])


def bench_rates(cfg: dict, repeat: int, quick: bool, before: Path | None = None) -> dict[str, dict]:
    out: dict[str, dict] = {}
    n = cfg["rate_replications"]
    log(f"rates per CPU-second: {', '.join(cfg['rate_scenarios'])} at {n:,} replications x {repeat}")
    try:
        now, looped_rate = rates(cfg, repeat, None)
        then, then_looped = rates(cfg, repeat, before) if before is not None else ({}, None)
    except CommandFailed as e:
        return {"cpu_rate_baseline": failed("replications per CPU-second", "reps/cpu-s", None, e)}
    for spec, r in now.items():
        key = spec_key(spec)
        target = f">= {CPU_RATE_TARGET:,}" if spec == "baseline" else None
        met = None if target is None or quick else r["rate"] >= CPU_RATE_TARGET
        label = f"{r['scenario']} ({r['packages']:,} packages, {r['parties']} parties), {n:,} reps"
        out[f"cpu_rate_{key}"] = measurement(r["rate"], "reps/cpu-s", label, target, met, **r)
        if spec in then:
            b = then[spec]
            out[f"before_{key}"] = measurement(
                b["rate"], "reps/cpu-s", f"  the same, engine of {before}", **b
            )
            ratio = r["rate"] / b["rate"]
            out[f"speedup_{key}"] = measurement(
                ratio, "x", "  speed-up over it", f">= {SPEEDUP_TARGET}" if spec == "baseline" else None,
                None if quick or spec != "baseline" else ratio >= SPEEDUP_TARGET,
            )  # fmt: skip
    out["cpu_looped"] = measurement(
        looped_rate, "reps/cpu-s", f"loop of single-world models ({cfg['rate_looped']})"
    )
    ratio = now["baseline"]["rate"] / looped_rate
    out["cpu_vs_looped"] = measurement(
        ratio,
        "x",
        "  baseline ensemble over the loop",
        f">= {LOOPED_TARGET}",
        None if quick else ratio >= LOOPED_TARGET,
    )
    if then_looped is not None:
        out["before_looped"] = measurement(then_looped, "reps/cpu-s", "  the loop, earlier engine")
    return out


def exponent(sizes: list[float], seconds: list[float]) -> float:
    """b in seconds ~ size^b: least squares on the logarithms."""
    import numpy as np

    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


GROWTH_AXIS = {
    "replications": "replications",
    "parties": "parties",
    "packages": "packages",
    "horizon": "days",
}


def bench_growth(cfg: dict, repeat: int, quick: bool) -> dict[str, dict]:
    """Every growth measurement in one fresh process; the exponent of each dimension."""
    items, dims = [], []
    for dim, (specs, sizes) in cfg["growth"].items():
        pairs = [(specs, n) for n in sizes] if isinstance(specs, str) else [(s, sizes) for s in specs]
        items += [f"{s}@{n}" for s, n in pairs]
        dims += [dim] * len(pairs)
    log(f"growth in {', '.join(cfg['growth'])} x {repeat}")
    try:
        runs = engine_child(["rate", ",".join(items), str(repeat)])
    except CommandFailed as e:
        return {
            f"growth_{dim}": failed(f"growth exponent in {dim}", "exponent", None, e) for dim in cfg["growth"]
        }
    out: dict[str, dict] = {}
    for dim in cfg["growth"]:
        mine = [r for r, d in zip(runs, dims, strict=True) if d == dim]
        xs = [r[GROWTH_AXIS[dim]] for r in mine]
        secs = [statistics.median(r["cpu_s"]) for r in mine]
        out[f"growth_{dim}"] = measurement(
            exponent(xs, secs), "exponent", f"growth of CPU time in {dim} ({xs[0]:,} to {xs[-1]:,})",
            sizes=xs, cpu_s=secs,
        )  # fmt: skip
    return out


def bench_compile(cfg: dict, repeat: int, quick: bool) -> dict[str, dict]:
    log("kernels compiled into an empty cache")
    label, target = "compile every kernel, cold cache (CPU)", f"<= {COMPILE_TARGET_S:g}"
    with tempfile.TemporaryDirectory(prefix="negsim-numba-") as cache:
        try:
            r = engine_child(["compile"], env={"NUMBA_CACHE_DIR": cache})
        except CommandFailed as e:
            return {"compile_cold": failed(label, "s", target, e)}
    cpu = r["cpu_s"]  # CPU seconds: on a loaded machine the wall clock (also kept) says little
    return {
        "compile_cold": measurement(cpu, "s", label, target, cpu <= COMPILE_TARGET_S, wall_s=r["seconds"])
    }


def bench_chunk_memory(cfg: dict, repeat: int, quick: bool) -> dict[str, dict]:
    log("memory of one chunk of 4,096 worlds")
    label, target = (
        "peak memory of one 4,096-world chunk, baseline, above import",
        f"<= {CHUNK_MEMORY_TARGET_MB:g}",
    )
    try:
        # Compiling takes more memory than a chunk: the kernels come from the cache, filled here.
        warm = [sys.executable, "-m", "sim.engine.warm"]
        subprocess.run(warm, cwd=ROOT, env=child_env(), check=True, capture_output=True)
        r = engine_child(["memory", "baseline", "4096"])
    except (CommandFailed, subprocess.CalledProcessError) as e:
        return {"chunk_memory": failed(label, "MB", target, e)}
    mbs = mb(r["peak_kib"] - r["base_kib"])
    return {"chunk_memory": measurement(mbs, "MB", label, target, mbs <= CHUNK_MEMORY_TARGET_MB, **r)}


def profile_top(cfg: dict) -> dict[str, Any] | None:
    log("profile of the baseline")
    try:
        return engine_child(["profile", "baseline", str(cfg["profile_replications"]), "10"])
    except CommandFailed as e:
        log(f"  FAILED: {e}")
        return None


# ---------------------------------------------------------------------------- CLI, end to end


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def compare_files(limit: int | None) -> list[Path]:
    """The files ``negsim compare scenarios`` takes (baseline first), at most ``limit`` of them."""
    files = sorted(SCENARIOS.glob("*.toml"), key=lambda f: (f.stem != "baseline", f.name))
    return files if limit is None else files[:limit]


def bench_compare(cfg: dict, repeat: int, quick: bool) -> dict[str, dict]:
    files = compare_files(cfg["compare_scenarios"])
    reps = cfg["compare_replications"]
    paths = ["scenarios"] if cfg["compare_scenarios"] is None else [str(f.relative_to(ROOT)) for f in files]
    out: dict[str, dict] = {}
    for w in cfg["compare_workers"]:
        label = f"negsim compare, {plural(len(files), 'scenario')} x {reps:,} reps, {plural(w, 'worker')}"
        target = f"<= {COMPARE_TARGET_S:g} (8 scenarios)" if w == 2 else None
        log(f"{label} x {repeat}")

        def cmd(tmp: Path, w: int = w) -> list[str]:
            return [sys.executable, "-m", "sim", "compare", *paths, "--replications", str(reps)] + [
                "--workers",
                str(w),
                "--out",
                str(tmp),
            ]

        try:
            t, times = median_command(cmd, repeat)
        except CommandFailed as e:
            out[f"compare_w{w}"] = failed(label, "s", target, e)
            continue
        met = None if (quick or target is None) else t <= COMPARE_TARGET_S
        out[f"compare_w{w}"] = measurement(
            t,
            "s",
            label,
            target,
            met,
            scenarios=[f.name for f in files],
            n_scenarios=len(files),
            replications=reps,
            workers=w,
            runs_s=times,
        )
    return out


def sweep_available() -> bool:
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "sweep", "--help"],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc.returncode == 0


def bench_sweep(cfg: dict, repeat: int, quick: bool) -> dict[str, dict]:
    n, reps, w = cfg["sweep_points"], cfg["sweep_replications"], cfg["sweep_workers"]
    label = f"negsim sweep, {n} x {n} points x {reps:,} reps, {w} workers"
    target = f"<= {SWEEP_TARGET_S:g} (21 x 21 x 1,000)"
    key = f"sweep_w{w}"
    log(f"{label} x {repeat}")
    if not sweep_available():
        log("  unavailable: `negsim sweep --help` fails")
        return {key: measurement(UNAVAILABLE, "s", label, target, None)}
    vary = []
    for path, lo, hi in SWEEP_AXES:
        vary += ["--vary", f"{path}={lo:g}:{hi:g}:{n}"]

    def cmd(tmp: Path) -> list[str]:
        return [sys.executable, "-m", "sim", "sweep", str(BASELINE.relative_to(ROOT)), *vary] + [
            "--replications",
            str(reps),
            "--workers",
            str(w),
            "--out",
            str(tmp),
            "--fresh",
        ]

    try:
        t, times = median_command(cmd, repeat)
    except CommandFailed as e:
        return {key: failed(label, "s", target, e)}
    met = None if quick else t <= SWEEP_TARGET_S
    return {
        key: measurement(t, "s", label, target, met, points=n * n, replications=reps, workers=w, runs_s=times)
    }


# ---------------------------------------------------------------------------- memory

# `negsim run FILE -n N --workers 1` in-process: outcomes streamed to disk, plots drawn.
MEMORY_CHILD = """
import json, resource, sys, tempfile
import pandas, matplotlib.pyplot  # noqa: F401  (what a run imports, before the baseline)
from sim.engine.model import NegotiationModel  # noqa: F401
from sim import cli
from sim.scenario import load_scenario
load_scenario(sys.argv[1])
n = int(sys.argv[2])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if n:
    with tempfile.TemporaryDirectory() as out:
        cli.main(["run", sys.argv[1], "-n", str(n), "--workers", "1", "--out", out])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import_kib": base, "peak_kib": peak}))
"""


def child_rss(n: int) -> dict[str, int]:
    """ru_maxrss (KiB on Linux) of a fresh process after imports, and after running n replications."""
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(BASELINE), str(n)],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise CommandFailed(f"exit {proc.returncode}: " + " | ".join(tail))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mb(kib: int) -> float:
    return kib * 1024 / 1e6


def bench_memory(cfg: dict, repeat: int, quick: bool) -> dict[str, dict]:
    out: dict[str, dict] = {}
    log(f"memory: import baseline x {repeat}")
    try:
        base = statistics.median(mb(child_rss(0)["import_kib"]) for _ in range(repeat))
    except CommandFailed as e:
        return {"rss_import": failed("peak RSS after import", "MB", None, e)}
    out["rss_import"] = measurement(base, "MB", "peak RSS after importing the engine, scenario loaded")
    for n in cfg["memory_sizes"]:
        log(f"memory: {n:,} replications (one run)")
        label = f"peak RSS, negsim run of {n:,} replications, 1 process"
        target = f"<= {MEMORY_TARGET_MB:g}" if n == 1_000_000 else None
        try:
            r = child_rss(n)
        except CommandFailed as e:
            out[f"rss_peak_{n}"] = failed(label, "MB", target, e)
            out[f"rss_increment_{n}"] = failed(f"increment over import, {n:,} replications", "MB", None, e)
            continue
        peak = mb(r["peak_kib"])
        met = None if target is None else peak <= MEMORY_TARGET_MB
        out[f"rss_peak_{n}"] = measurement(peak, "MB", label, target, met, replications=n)
        out[f"rss_increment_{n}"] = measurement(
            peak - mb(r["import_kib"]),
            "MB",
            f"  increment over import, {n:,} replications",
            replications=n,
        )
    return out


# ---------------------------------------------------------------------------- start-up


def console_script() -> str | None:
    here = Path(sys.executable).parent / ("negsim.exe" if os.name == "nt" else "negsim")
    return str(here) if here.exists() else shutil.which("negsim")


def bench_help(cfg: dict, repeat: int, quick: bool) -> dict[str, dict]:
    out: dict[str, dict] = {}
    commands = {
        "help_console": ("negsim --help (console script)", [console_script(), "--help"]),
        "help_module": ("python -m sim --help", [sys.executable, "-m", "sim", "--help"]),
    }
    target = f"<= {HELP_TARGET_S:g}"
    for key, (label, cmd) in commands.items():
        log(f"{label} x {repeat}")
        if cmd[0] is None:
            log("  unavailable: the negsim console script is not installed")
            out[key] = measurement(UNAVAILABLE, "s", label, target, None)
            continue
        try:
            run_command(cmd)  # warm-up: file cache
            times = [run_command(cmd) for _ in range(repeat)]
        except CommandFailed as e:
            out[key] = failed(label, "s", target, e)
            continue
        t = statistics.median(times)
        out[key] = measurement(t, "s", label, target, t <= HELP_TARGET_S, runs_s=times)
    return out


# ---------------------------------------------------------------------------- report


def metadata(args, cfg: dict, repeat: int) -> dict[str, Any]:
    from sim.outputs.files import versions

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "schema": 1,
        "mode": "quick" if args.quick else "full",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "versions": versions(),
        "git": git_revision(),
        "environment": {
            **{v: os.environ.get(v) for v in THREAD_VARS},
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_CORETYPE_set": "OPENBLAS_CORETYPE" in os.environ,
        },
        "parameters": {
            "scenario": str(BASELINE.relative_to(ROOT)),
            "repeat": repeat,
            "statistic": "median of repeat runs (memory: one run per size)",
            **{k: v for k, v in cfg.items() if k != "repeat"},
            "before": str(args.before) if args.before else None,
            "sections": list(SECTIONS) if args.only is None else args.only,
            "sweep_axes": [f"{p}={lo:g}:{hi:g}" for p, lo, hi in SWEEP_AXES],
            "threads_per_process": 1,
        },
    }


def git_revision() -> dict[str, Any] | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": head, "modified": bool(dirty)}


def format_value(value: Any, unit: str) -> str:
    if not isinstance(value, int | float):
        return str(value)
    if unit == "reps/s":
        return f"{value:,.0f}"
    if unit == "x":
        return f"{value:,.1f}"
    if unit == "reps/cpu-s":
        return f"{value:,.0f}"
    if unit == "exponent":
        return f"{value:.2f}"
    if unit == "MB":
        return f"{value:,.1f}"
    return f"{value:.3f}"


def format_met(m: dict) -> str:
    if m["value"] in (UNAVAILABLE, FAILED):
        return "-"
    if m["target"] is None:
        return ""
    if m["met"] is None:
        return "n/a (quick)"
    return "yes" if m["met"] else "NO"


def table(measurements: dict[str, dict]) -> str:
    rows = [("measurement", "value", "unit", "target", "met")]
    for m in measurements.values():
        rows.append(
            (m["label"], format_value(m["value"], m["unit"]), m["unit"], m["target"] or "", format_met(m))
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for j, r in enumerate(rows):
        cells = [r[0].ljust(widths[0]), r[1].rjust(widths[1])]
        cells += [c.ljust(w) for c, w in zip(r[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


SECTIONS: dict[str, Callable | None] = {
    "rates": None,  # takes --before as well
    "growth": bench_growth,
    "compile": bench_compile,
    "chunk_memory": bench_chunk_memory,
    "engine": bench_engine,
    "compare": bench_compare,
    "sweep": bench_sweep,
    "memory": bench_memory,
    "help": bench_help,
    "forecast": bench_forecast,
    "profile": None,
}


def sections(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(SECTIONS)}")
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small workloads, 2 runs each (for CI)")
    ap.add_argument("--repeat", type=int, help="runs per timing, median reported (default 5; quick 2)")
    ap.add_argument("--only", type=sections, help=f"comma-separated sections: {', '.join(SECTIONS)}")
    ap.add_argument(
        "--before",
        type=Path,
        help="a checkout of an earlier commit: its engine's rates measured in the same run",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=ROOT / "results" / "benchmarks.json",
        help="JSON file to write (default: results/benchmarks.json)",
    )
    args = ap.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        ap.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for var in THREAD_VARS:  # before NumPy is imported: the engine is measured on one thread
        os.environ[var] = "1"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    cfg = QUICK if args.quick else FULL
    repeat = args.repeat or cfg["repeat"]
    report = metadata(args, cfg, repeat)
    report["loadavg_start"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    measurements: dict[str, dict] = {}
    chosen = SECTIONS if args.only is None else args.only
    if "rates" in chosen:
        measurements.update(bench_rates(cfg, repeat, args.quick, args.before))
    for name, bench in SECTIONS.items():
        if name in chosen and bench is not None:
            measurements.update(bench(cfg, repeat, args.quick))
    report["profile"] = profile_top(cfg) if "profile" in chosen else None
    report["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    report["total_seconds"] = time.perf_counter() - t0
    report["measurements"] = measurements

    from sim.atomic import write_json

    write_json(args.out, report)
    env = report["environment"]
    print(
        f"negsim {report['versions']['negsim']} benchmarks ({report['mode']}, median of {repeat}); "
        f"Python {report['python']}, NumPy {report['versions']['numpy']}, Mesa {report['versions']['mesa']}, "
        f"{report['cpu_count']} CPUs, OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE'] or 'unset'}"
    )
    print(table(measurements))
    if report["profile"]:
        prof = report["profile"]
        print(
            f"profile, baseline, {cfg['profile_replications']:,} replications "
            f"({prof['total_s']:.2f} s own time):"
        )
        for row in prof["top"]:
            share = 100 * row["own_s"] / prof["total_s"]
            print(f"  {share:5.1f}%  {row['own_s']:7.3f} s  {row['calls']:>7,}  {row['function']}")
    if report["loadavg_start"] and report["loadavg_end"]:
        print(
            f"load average (1 min) at start {report['loadavg_start'][0]:.2f}, at end "
            f"{report['loadavg_end'][0]:.2f}: above 0 means other processes shared the CPUs"
        )
    print(f"written: {args.out}")
    bad = [k for k, m in measurements.items() if m["value"] == FAILED]
    if bad:
        print(f"failed measurements: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
