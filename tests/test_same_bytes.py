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
# produce, to table counter-proposals, and to feel sticks sized in the war's units.
EXPECTED: dict[str, str] = {
    "run/outcomes.csv": "8203d95b3473151f",
    "run/history.csv": "c41be421e5638b6c",
    "run/series.csv": "fef2de6780bf0162",
    "run/curve.csv": "19ec6c9214906c85",
    "run/shares.csv": "3c6cbf6f7a099a6f",
    "compare/baseline/outcomes.csv": "a45c7cea3c5c19fe",
    "compare/baseline/history.csv": "790c0530479dd2c2",
    "compare/baseline/series.csv": "c2ca5c93d94846ae",
    "compare/baseline/curve.csv": "634477cc1bcdc348",
    "compare/baseline/shares.csv": "ce061a2e1088817a",
    "compare/commitment_problem/outcomes.csv": "0b53c178d6f8ff52",
    "compare/commitment_problem/history.csv": "d23d0103286c1cb0",
    "compare/commitment_problem/series.csv": "2b08c7562706a15b",
    "compare/commitment_problem/curve.csv": "75c24ef0d368dbaf",
    "compare/commitment_problem/shares.csv": "3d0f95ed6a397fa1",
    "compare/europe/outcomes.csv": "b2204abeb25e6e9d",
    "compare/europe/history.csv": "254fa61a1f7a598e",
    "compare/europe/series.csv": "96cca3ded47c5fca",
    "compare/europe/curve.csv": "19acf30da7845ce9",
    "compare/europe/shares.csv": "2c7f09ea3cb64060",
    "compare/hardliners/outcomes.csv": "45e527b8a0a4b9d3",
    "compare/hardliners/history.csv": "02c2508bc3758935",
    "compare/hardliners/series.csv": "bc45f8aa3b6f8724",
    "compare/hardliners/curve.csv": "6fe32bebe79659b8",
    "compare/hardliners/shares.csv": "3d0f95ed6a397fa1",
    "compare/hurting_stalemate/outcomes.csv": "285d502f228bc1ac",
    "compare/hurting_stalemate/history.csv": "f1f578ee13aa135e",
    "compare/hurting_stalemate/series.csv": "06bf47d6c69e9c5a",
    "compare/hurting_stalemate/curve.csv": "71732198747166a2",
    "compare/hurting_stalemate/shares.csv": "8c455af670fe89a3",
    "compare/kursk_momentum/outcomes.csv": "4637c0fe37a0dc27",
    "compare/kursk_momentum/history.csv": "365804c35a3c01c9",
    "compare/kursk_momentum/series.csv": "b6763911f83ce644",
    "compare/kursk_momentum/curve.csv": "6fb2ba575a77fd6f",
    "compare/kursk_momentum/shares.csv": "9d69d9a2970c59a1",
    "compare/leaders_call/outcomes.csv": "24c27bd3a1abfc22",
    "compare/leaders_call/history.csv": "c6c716848d1fac37",
    "compare/leaders_call/series.csv": "591faa1eb6344689",
    "compare/leaders_call/curve.csv": "3b8d8a86a520837a",
    "compare/leaders_call/shares.csv": "fdc131ea7e5c543e",
    "compare/mediator_listens/outcomes.csv": "e823d775e67ff5be",
    "compare/mediator_listens/history.csv": "6cda932d6bbae6e1",
    "compare/mediator_listens/series.csv": "50bc68e781e88bca",
    "compare/mediator_listens/curve.csv": "f17b89133d8106e6",
    "compare/mediator_listens/shares.csv": "d1f27f4cf99fe5a4",
    "compare/russia_conditions/outcomes.csv": "35bfd2a5e1328a1f",
    "compare/russia_conditions/history.csv": "0c588f97280722c6",
    "compare/russia_conditions/series.csv": "59ee91776189252d",
    "compare/russia_conditions/curve.csv": "5df634374298a862",
    "compare/russia_conditions/shares.csv": "57270ef2af488392",
    "compare/us_pressure_russia/outcomes.csv": "e9de39d5139be774",
    "compare/us_pressure_russia/history.csv": "24864106c9a5974a",
    "compare/us_pressure_russia/series.csv": "bd1fc30aced11d09",
    "compare/us_pressure_russia/curve.csv": "872964dd748b88f2",
    "compare/us_pressure_russia/shares.csv": "920c1205745977ef",
    "compare/us_pressure_ukraine/outcomes.csv": "6e36f088087a3762",
    "compare/us_pressure_ukraine/history.csv": "6cc667f94b13dd31",
    "compare/us_pressure_ukraine/series.csv": "d7d85b63de919c76",
    "compare/us_pressure_ukraine/curve.csv": "dc11f05c7c400d04",
    "compare/us_pressure_ukraine/shares.csv": "e21e472a61b1c798",
    "compare/summary.csv": "cbedca4e2a2f965e",
    "compare/hypotheses.csv": "e7e90680619045cb",
    "trace/baseline/3.json": "074bf1a73d4c4818",
    "trace/leaders_call/5.json": "689b27816ad9f056",
    "trace/mediator_listens/1.json": "9c2a36bb0b01f430",
    "trace/europe/0.json": "17004cfc94ed3127",
    "sweep/sweep.csv": "89ce387140967412",
    "sensitivity/tornado.csv": "1b750f7b787c2d78",
    "engine/baseline": "386db00304336390",
    "engine/commitment_problem": "f47f2d08ec7f16da",
    "engine/europe": "e59ac48a5b095004",
    "engine/hardliners": "44f514fb43606034",
    "engine/hurting_stalemate": "e6361d3081b82b64",
    "engine/kursk_momentum": "ffc89f89b7455fd0",
    "engine/leaders_call": "dde311b2f88956f9",
    "engine/mediator_listens": "bb13251d94797d73",
    "engine/russia_conditions": "3d31708a88df6e03",
    "engine/us_pressure_russia": "d8896992baf9fc34",
    "engine/us_pressure_ukraine": "d19e76661a997831",
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
