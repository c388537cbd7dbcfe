"""Engine measurements, each in a fresh process, printed as one JSON line (run.py calls this).

    python benchmarks/engine.py rate SPEC@N[,SPEC@N...] REPEAT
    python benchmarks/engine.py looped SPEC K REPEAT
    python benchmarks/engine.py memory SPEC N
    python benchmarks/engine.py compile
    python benchmarks/engine.py profile SPEC N TOP

SPEC is a bundled scenario's name (``baseline``, ``europe``) or a generated one (``packages:Q``,
``parties:EXTRA``, ``horizon:DAYS``, see domains.py). The engine measured is the ``sim`` first on
``PYTHONPATH``, so the same script measures an earlier commit's tree (``run.py --before``).
CPU time is the process's (``time.process_time``), so a loaded machine slows the wall clock, not
the rate.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import domains  # noqa: E402


def load(spec: str):
    kind, _, arg = spec.partition(":")
    if kind == "packages":
        return domains.with_packages(int(arg))
    if kind == "parties":
        return domains.with_parties(int(arg))
    if kind == "horizon":
        return domains.with_horizon(int(arg))
    from sim.engine.outcomes import check_negotiable
    from sim.scenario import load_scenario

    sc = load_scenario(domains.ROOT / "scenarios" / f"{spec}.toml")
    check_negotiable(sc)
    return sc


def describe(sc) -> dict:
    import sim

    return {
        "scenario": sc.name,
        "sha256": sc.sha256,
        "packages": sc.n_packages,
        "parties": len(sc.parties),
        "days": sc.days,
        "engine": str(Path(sim.__file__).resolve().parent.parent),
    }


def rate(items: str, repeat: str) -> list[dict]:
    """CPU and wall seconds of running each SPEC@N: scenario SPEC, N replications."""
    from sim.experiments.chunks import run_chunks

    out = []
    loaded: dict[str, object] = {}
    for item in items.split(","):
        spec, _, size = item.partition("@")
        if spec not in loaded:
            loaded[spec] = load(spec)
            run_chunks(loaded[spec], 1, 128)  # warm-up: imports, kernels, the compiled outcome space
        sc, n = loaded[spec], int(size)
        cpu, wall = [], []
        for _ in range(int(repeat)):
            gc.collect()
            c0, w0 = time.process_time(), time.perf_counter()
            run_chunks(sc, sc.seed, n)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        out.append(describe(sc) | {"spec": spec, "replications": n, "cpu_s": cpu, "wall_s": wall})
    return out


def looped(spec: str, k: str, repeat: str) -> dict:
    import numpy as np

    from sim.engine.model import NegotiationModel

    sc = load(spec)
    NegotiationModel(sc, replications=1, rng=np.random.default_rng(sc.seed)).run()  # warm-up
    cpu, wall = [], []
    for _ in range(int(repeat)):
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(int(k)):
            NegotiationModel(sc, replications=1, rng=np.random.default_rng([sc.seed, i])).run()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return describe(sc) | {"models": int(k), "cpu_s": cpu, "wall_s": wall}


def memory(spec: str, n: str) -> dict:
    """Peak resident memory of playing one chunk of n worlds, above the process after a warm-up."""
    from sim.experiments.chunks import run_chunk

    sc = load(spec)
    run_chunk(sc, sc.seed, 0, 64)  # imports, kernels and the outcome space: the process's base
    gc.collect()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run_chunk(sc, sc.seed, 0, int(n))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return describe(sc) | {"replications": int(n), "base_kib": base, "peak_kib": peak}


def compile_kernels() -> dict:
    from sim.engine import jit, warm

    c0 = time.process_time()
    wall = warm.warm_up()
    return {"seconds": wall, "cpu_s": time.process_time() - c0, "cache": jit.cache_dir()}


def profile(spec: str, n: str, top: str) -> dict:
    """The functions with the most own time (cProfile) over one run of n worlds."""
    import cProfile
    import pstats

    from sim.experiments.chunks import run_chunks

    sc = load(spec)
    run_chunks(sc, sc.seed, 128)
    prof = cProfile.Profile(time.process_time)  # CPU time: a loaded machine does not inflate it
    prof.runcall(run_chunks, sc, sc.seed, int(n))
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[: int(top)]
    return describe(sc) | {
        "total_s": total,
        "top": [
            {"function": f"{Path(f).name}:{line}({name})", "own_s": v[2], "cum_s": v[3], "calls": v[1]}
            for (f, line, name), v in rows
        ],
    }


COMMANDS = {"rate": rate, "looped": looped, "memory": memory, "compile": compile_kernels, "profile": profile}

if __name__ == "__main__":
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))
