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
        for a in (c.inforce, c.class_by_round, c.first_day, c.gain, c.first_demand, c.series):
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

# Recorded before the compiled kernels (see the module docstring for when they may change).
EXPECTED: dict[str, str] = {
    "run/outcomes.csv": "14510ebcfb1d422f",
    "run/history.csv": "6cfcb2df875b8896",
    "run/series.csv": "d917a8add82ed8be",
    "run/curve.csv": "4af0c925ddb8e560",
    "run/shares.csv": "32d21d07cc7221f2",
    "compare/baseline/outcomes.csv": "c5f440657e46a272",
    "compare/baseline/history.csv": "2d5360acc55eaa85",
    "compare/baseline/series.csv": "1d87b430c7e807e7",
    "compare/baseline/curve.csv": "7b9e19bab95300ba",
    "compare/baseline/shares.csv": "fe875ba18e66a856",
    "compare/commitment_problem/outcomes.csv": "20e48376b02139bd",
    "compare/commitment_problem/history.csv": "37c1b7046fe24635",
    "compare/commitment_problem/series.csv": "b4325533d06d4240",
    "compare/commitment_problem/curve.csv": "430923e8b159c6ab",
    "compare/commitment_problem/shares.csv": "b55a990ddc32eb55",
    "compare/europe/outcomes.csv": "505bd60279a1e3cf",
    "compare/europe/history.csv": "199f823bab861b81",
    "compare/europe/series.csv": "02c7370142e611b2",
    "compare/europe/curve.csv": "e5e29184e35e54a8",
    "compare/europe/shares.csv": "aa3235d8dae282c7",
    "compare/hardliners/outcomes.csv": "1b4b547de1a5d680",
    "compare/hardliners/history.csv": "69602bceecd83b55",
    "compare/hardliners/series.csv": "141949b65a3e369e",
    "compare/hardliners/curve.csv": "102cd57605d4c8fd",
    "compare/hardliners/shares.csv": "c5a11e270761c893",
    "compare/hurting_stalemate/outcomes.csv": "e1669793c39ae5da",
    "compare/hurting_stalemate/history.csv": "aa1d73f0cfea2413",
    "compare/hurting_stalemate/series.csv": "bf14be601bf64946",
    "compare/hurting_stalemate/curve.csv": "ce57b6f6733ca4be",
    "compare/hurting_stalemate/shares.csv": "24c7774e8c596596",
    "compare/kursk_momentum/outcomes.csv": "426fd343d55a9938",
    "compare/kursk_momentum/history.csv": "6270ed07de156eed",
    "compare/kursk_momentum/series.csv": "85af69674f9a5b0d",
    "compare/kursk_momentum/curve.csv": "6fedf5fab7a9bf39",
    "compare/kursk_momentum/shares.csv": "7c1bc29209aca79b",
    "compare/leaders_call/outcomes.csv": "849ebc3aa3ceaac1",
    "compare/leaders_call/history.csv": "263ba4c9c420d96c",
    "compare/leaders_call/series.csv": "ef67dba065a3b70f",
    "compare/leaders_call/curve.csv": "0f39ddcf49afe4b3",
    "compare/leaders_call/shares.csv": "10a43bf5e7542ce4",
    "compare/mediator_listens/outcomes.csv": "f4c7137783cff641",
    "compare/mediator_listens/history.csv": "a192dbd6c0dffcb9",
    "compare/mediator_listens/series.csv": "759f0ef3dcbb96fb",
    "compare/mediator_listens/curve.csv": "dfc83a0c70356c51",
    "compare/mediator_listens/shares.csv": "7ac6b0da5f9f65e4",
    "compare/russia_conditions/outcomes.csv": "26a1a0b4f292eb5d",
    "compare/russia_conditions/history.csv": "b5cfca38475ca93e",
    "compare/russia_conditions/series.csv": "a6caf75233f84d77",
    "compare/russia_conditions/curve.csv": "ccf21cde4cd4b3de",
    "compare/russia_conditions/shares.csv": "3332499c7f520338",
    "compare/us_pressure_russia/outcomes.csv": "c9486f25b57baa49",
    "compare/us_pressure_russia/history.csv": "7537e37e5884810a",
    "compare/us_pressure_russia/series.csv": "897be3b301f95ffd",
    "compare/us_pressure_russia/curve.csv": "a2a91ef9f61922d5",
    "compare/us_pressure_russia/shares.csv": "1db190397b413f10",
    "compare/us_pressure_ukraine/outcomes.csv": "871fa5c6a73be2dd",
    "compare/us_pressure_ukraine/history.csv": "6200f8c32a93bd21",
    "compare/us_pressure_ukraine/series.csv": "5d111db7a02057bd",
    "compare/us_pressure_ukraine/curve.csv": "d353defd88603a39",
    "compare/us_pressure_ukraine/shares.csv": "e9768f4b7b3c30fe",
    "compare/summary.csv": "b023850825702aa7",
    "compare/hypotheses.csv": "b7a122b235544cc3",
    "trace/baseline/3.json": "f006ab3b68164020",
    "trace/leaders_call/5.json": "a0a60e46d2845c46",
    "trace/mediator_listens/1.json": "2e7350f77494fd3e",
    "trace/europe/0.json": "cf676503504f6b60",
    "sweep/sweep.csv": "123866667ab7598c",
    "sensitivity/tornado.csv": "40576c28428f8fb5",
    "engine/baseline": "25cad4be5268ef91",
    "engine/commitment_problem": "7dbe19ab8fb85684",
    "engine/europe": "44d3e3a54b2a518b",
    "engine/hardliners": "12e57a0f8b4e3fad",
    "engine/hurting_stalemate": "3a794b842469417f",
    "engine/kursk_momentum": "e7edfb3219265345",
    "engine/leaders_call": "e9f57d3667dff58f",
    "engine/mediator_listens": "38b94b0a21791793",
    "engine/russia_conditions": "d2c3c87a671ec0cd",
    "engine/us_pressure_russia": "9754c927814bbff2",
    "engine/us_pressure_ukraine": "6fed4784558e1d68",
}


@pytest.mark.parametrize("what", list(ALL))
def test_outputs_keep_their_bytes(what):
    got = ALL[what]()
    want = {k: v for k, v in EXPECTED.items() if k.startswith(what + "/")}
    assert got == want, "outputs changed: see this file's docstring for when digests may be regenerated"


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    for fn in ALL.values():
        for k, v in fn().items():
            print(f'    "{k}": "{v}",')
