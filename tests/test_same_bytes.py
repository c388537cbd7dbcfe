"""Same bytes: the engine's outputs on the bundled scenarios at fixed seeds, as SHA-256 digests.

A faster engine must tell exactly the same story. These digests were recorded from the readable
NumPy engine before any compiled kernel existed; every optimisation since keeps them. They cover
the CSVs that ``run``, ``compare``, ``trace``, ``sweep`` and ``sensitivity --method none`` write
(through the same ``append_csv`` with its fixed float format) and, since six decimals can hide a
changed last bit, the raw arrays of every chunk (``gain`` at full precision) on every bundled
scenario.

When may they be regenerated? Only with a deliberate, explained change of the model (a mechanism
added or corrected, a scenario number changed by a dated source): say in the commit which change
moved them and why. Never to make a speed-up pass. Regenerate with

    python tests/test_same_bytes.py

which prints the new table to paste below.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.toml"
SEED = 20250313


def csv_digest(frame: pd.DataFrame) -> str:
    from sim.outputs.files import append_csv

    buf = io.StringIO()
    append_csv(buf, frame, header=True)
    return hashlib.sha256(buf.getvalue().encode()).hexdigest()[:16]


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def chunk_digest(chunks) -> str:
    h = hashlib.sha256()
    for c in chunks:
        for a in (c.inforce, c.class_by_day, c.first_day, c.gain, c.first_demand, c.series):
            h.update(np.ascontiguousarray(a).tobytes())
        for kind in sorted(c.counts):
            h.update(kind.encode() + c.counts[kind].tobytes())
        h.update(c.history.tobytes())
    return h.hexdigest()[:16]


def run_digests() -> dict[str, str]:
    from sim import api

    r = api.run(BASELINE, replications=700, seed=SEED)
    frames = {"outcomes": r.outcomes, "history": r.history, "series": r.series}
    frames |= {"curve": r.curve, "shares": r.shares}
    return {f"run/{k}.csv": csv_digest(v) for k, v in frames.items()}


def compare_digests() -> dict[str, str]:
    from sim import api

    cmp = api.compare(SCENARIOS, replications=120, seed=SEED)
    out = {}
    for name, r in cmp.runs.items():
        for k in ("outcomes", "history", "series", "curve", "shares"):
            out[f"compare/{name}/{k}.csv"] = csv_digest(getattr(r, k))
    out["compare/summary.csv"] = csv_digest(cmp.table)
    out["compare/hypotheses.csv"] = csv_digest(pd.DataFrame([v.as_dict() for v in cmp.checks]))
    return out


def trace_digests() -> dict[str, str]:
    from sim import api
    from sim.scenario import with_overrides

    out = {}
    for name, j in (("baseline", 3), ("leaders_call", 5), ("mediator_listens", 1), ("europe", 0)):
        sc = api.load_scenario(SCENARIOS / f"{name}.toml")
        sc = with_overrides(sc, 64, SEED)
        out[f"trace/{name}/{j}.json"] = text_digest(api.trace(sc, j, as_json=True))
    return out


def sweep_digests() -> dict[str, str]:
    from sim import api

    res = api.sweep(BASELINE, {"truce.days": [20, 30, 45]}, replications=150, seed=SEED)
    return {"sweep/sweep.csv": csv_digest(res.frame)}


def sensitivity_digests() -> dict[str, str]:
    from sim import api

    params = ["parties.russia.margin.mean", "truce.days"]
    res = api.sensitivity(BASELINE, params=params, method=None, replications=150, seed=SEED)
    return {"sensitivity/tornado.csv": csv_digest(res.tornado.frame)}


def engine_digests() -> dict[str, str]:
    from sim.api import load_scenario
    from sim.experiments.chunks import run_chunks

    out = {}
    for path in sorted(SCENARIOS.glob("*.toml")):
        sc = load_scenario(path)
        out[f"engine/{path.stem}"] = chunk_digest(run_chunks(sc, SEED, 300))
    return out


ALL = {
    "run": run_digests,
    "compare": compare_digests,
    "trace": trace_digests,
    "sweep": sweep_digests,
    "sensitivity": sensitivity_digests,
    "engine": engine_digests,
}

# Recorded before the compiled kernels (see the module docstring for when they may change);
# regenerated when the parties came to value the war and a truce on the balance the dynamics
# produce, to table counter-proposals, and to feel sticks sized in the war's units; and when the
# engine's exp, expm1 and power came from the C library instead of NumPy's loops for the CPU, so a
# seed fixes every number with or without AVX-512: only the full-precision arrays and traces moved
# (every CSV kept its digest), to what NumPy's own fallback to the C library gave on a CPU without.
EXPECTED: dict[str, str] = {
    "run/outcomes.csv": "7f3a8551ac29e347",
    "run/history.csv": "1ef94b3f17be4ced",
    "run/series.csv": "b12166b3c0f9a3dd",
    "run/curve.csv": "07a77e98a5476343",
    "run/shares.csv": "837a18eb3a2bfe49",
    "compare/baseline/outcomes.csv": "9b76ee87d1abcae6",
    "compare/baseline/history.csv": "a58a1042026a58a5",
    "compare/baseline/series.csv": "81418f5c0429ec55",
    "compare/baseline/curve.csv": "a307a003202296da",
    "compare/baseline/shares.csv": "161f16137f5e2525",
    "compare/commitment_problem/outcomes.csv": "7376da96aad2dac6",
    "compare/commitment_problem/history.csv": "ee6937845eb0d585",
    "compare/commitment_problem/series.csv": "784ce78466c12634",
    "compare/commitment_problem/curve.csv": "b8d9329ffc662a20",
    "compare/commitment_problem/shares.csv": "c0ace00062a3a4fd",
    "compare/europe/outcomes.csv": "a10e53f4125a3c3e",
    "compare/europe/history.csv": "1a8f3891c9ee7ec1",
    "compare/europe/series.csv": "2a6e504c412feb48",
    "compare/europe/curve.csv": "dab93259c34954f9",
    "compare/europe/shares.csv": "8d1738a84a5f51db",
    "compare/hardliners/outcomes.csv": "ce67cc9e11d93eab",
    "compare/hardliners/history.csv": "00c6e224d5b2f0c3",
    "compare/hardliners/series.csv": "89225e64b13b5580",
    "compare/hardliners/curve.csv": "9bdf505f0f814e4b",
    "compare/hardliners/shares.csv": "adf628711bfafc53",
    "compare/hurting_stalemate/outcomes.csv": "1c2e5bc1a23b014a",
    "compare/hurting_stalemate/history.csv": "b1699d668e4f6339",
    "compare/hurting_stalemate/series.csv": "fe1b9334002a7e27",
    "compare/hurting_stalemate/curve.csv": "b63b23e351f10fd6",
    "compare/hurting_stalemate/shares.csv": "0ac244d885b7db16",
    "compare/kursk_momentum/outcomes.csv": "fd198e9ac9afeec3",
    "compare/kursk_momentum/history.csv": "9eb0e0cf79c3decf",
    "compare/kursk_momentum/series.csv": "523dabf23b8c1c52",
    "compare/kursk_momentum/curve.csv": "34d4b4b657588b99",
    "compare/kursk_momentum/shares.csv": "501de7a88a3ca21f",
    "compare/leaders_call/outcomes.csv": "13c92771495897d4",
    "compare/leaders_call/history.csv": "0eba6cbe91b1ded6",
    "compare/leaders_call/series.csv": "e0838ebe7a533624",
    "compare/leaders_call/curve.csv": "6876865817a2a762",
    "compare/leaders_call/shares.csv": "034e69e257fd4b31",
    "compare/mediator_listens/outcomes.csv": "3d0c4b125ad6dc7d",
    "compare/mediator_listens/history.csv": "82c41a69a9185dc2",
    "compare/mediator_listens/series.csv": "e2e2a1413b6ee910",
    "compare/mediator_listens/curve.csv": "3c8a25041e1b1bb7",
    "compare/mediator_listens/shares.csv": "7297c8b9297288ed",
    "compare/russia_conditions/outcomes.csv": "9dd7ff8dbace7093",
    "compare/russia_conditions/history.csv": "87299d1c02b8ef65",
    "compare/russia_conditions/series.csv": "81d7b4f01e67b866",
    "compare/russia_conditions/curve.csv": "9411c77064e09130",
    "compare/russia_conditions/shares.csv": "dede86e1233467d2",
    "compare/us_pressure_russia/outcomes.csv": "8b4b93021fc11a3f",
    "compare/us_pressure_russia/history.csv": "35b6c272e30dc317",
    "compare/us_pressure_russia/series.csv": "c8a25f1cd5a8cdea",
    "compare/us_pressure_russia/curve.csv": "af4edb713d8d6e0f",
    "compare/us_pressure_russia/shares.csv": "2870e07c60cd7c0d",
    "compare/us_pressure_ukraine/outcomes.csv": "17eb7c025bdec232",
    "compare/us_pressure_ukraine/history.csv": "559339fea16c1adb",
    "compare/us_pressure_ukraine/series.csv": "e6a4ee10cbd47fbb",
    "compare/us_pressure_ukraine/curve.csv": "991e7149c8595485",
    "compare/us_pressure_ukraine/shares.csv": "6bdb84eac4c059b7",
    "compare/summary.csv": "6ed19a3ab5261e2a",
    "compare/hypotheses.csv": "a4817b0563664b72",
    "trace/baseline/3.json": "5e3a599c8a6712b5",
    "trace/leaders_call/5.json": "e174236e1f06bed4",
    "trace/mediator_listens/1.json": "710ce828a869bdc3",
    "trace/europe/0.json": "5b70309726459f92",
    "sweep/sweep.csv": "303db08b7d9b82fe",
    "sensitivity/tornado.csv": "6732ffd5c059f95a",
    "engine/baseline": "390acb86a74468a3",
    "engine/commitment_problem": "f4fef81e3b1e0817",
    "engine/europe": "7358fd1346fcc8be",
    "engine/hardliners": "be04ff2e0ffe0d32",
    "engine/hurting_stalemate": "aaeea03faeabda19",
    "engine/kursk_momentum": "77ae31544fef3ce8",
    "engine/leaders_call": "2cf112d5ff271235",
    "engine/mediator_listens": "7a045dc0d1cfb127",
    "engine/russia_conditions": "88be2dd4171384aa",
    "engine/us_pressure_russia": "95a7a1b626e2d438",
    "engine/us_pressure_ukraine": "eb56376995a5bb25",
}


@pytest.mark.parametrize("what", list(ALL))
def test_outputs_keep_their_bytes(what):
    got = ALL[what]()
    want = {k: v for k, v in EXPECTED.items() if k.startswith(what + "/")}
    assert got == want, "outputs changed: see this file's docstring for when digests may be regenerated"


def numpy_dispatch() -> list[str]:
    """The CPU features above its baseline for which NumPy has loops of its own, and this CPU has."""
    from numpy._core import _multiarray_umath as umath

    return [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)]


def test_the_same_bytes_without_numpys_loops_for_this_cpu():
    """A seed fixes every number on any x86-64 CPU, with or without AVX-512: NumPy picks its loops
    by the CPU at run time (``NPY_DISABLE_CPU_FEATURES`` turns them off), and its AVX-512 ``exp``,
    ``expm1`` and ``power`` round about one result in twenty differently, so the engine takes them
    from the C library (``sim.engine.libm``). Here the engine's raw arrays of every bundled
    scenario and the traces, computed with every NumPy loop above its baseline turned off, keep the
    digests above (this CPU's)."""
    features = numpy_dispatch()
    if not features:
        pytest.skip("NumPy has no loops for this CPU beyond its baseline: nothing to turn off")
    code = (
        "import json, sys\n"
        "sys.path.insert(0, 'tests')\n"
        "import test_same_bytes as t\n"
        "digests = {**t.engine_digests(), **t.trace_digests()}\n"
        "print(json.dumps(digests))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), NPY_DISABLE_CPU_FEATURES=" ".join(features))
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got == {k: v for k, v in EXPECTED.items() if k.startswith(("trace/", "engine/"))}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    for fn in ALL.values():
        for k, v in fn().items():
            print(f'    "{k}": "{v}",')
