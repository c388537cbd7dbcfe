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

# Recorded before the compiled kernels (see the module docstring for when they may change).
EXPECTED: dict[str, str] = {
    "run/outcomes.csv": "274a90a52b6cd3a6",
    "run/history.csv": "a7c48b69227aece6",
    "run/series.csv": "7c3b82e534177ed6",
    "run/curve.csv": "d54637397de48896",
    "run/shares.csv": "8707974f9e3a1f3d",
    "compare/baseline/outcomes.csv": "f7c177f21eeee8ea",
    "compare/baseline/history.csv": "dcaa91e95bb11001",
    "compare/baseline/series.csv": "951e3b12b59cfff9",
    "compare/baseline/curve.csv": "df9f0c34e4170ef1",
    "compare/baseline/shares.csv": "76e37efa76ab5337",
    "compare/commitment_problem/outcomes.csv": "dbfac4206bf2d783",
    "compare/commitment_problem/history.csv": "a85086cf52dc0861",
    "compare/commitment_problem/series.csv": "6698cf1c69f3ee68",
    "compare/commitment_problem/curve.csv": "9d4c013a86e3e25c",
    "compare/commitment_problem/shares.csv": "39e631908f591de3",
    "compare/europe/outcomes.csv": "a6a7647a6e5f3e0c",
    "compare/europe/history.csv": "159cd16bf796cb72",
    "compare/europe/series.csv": "4922e393975d3f9d",
    "compare/europe/curve.csv": "a4ab2b3cc4fcd06d",
    "compare/europe/shares.csv": "93aec39faffa8114",
    "compare/hardliners/outcomes.csv": "4c06b5d6c59f3c6a",
    "compare/hardliners/history.csv": "c85d645d2346a6d3",
    "compare/hardliners/series.csv": "6267f5d69141a18d",
    "compare/hardliners/curve.csv": "6da7214522cf2b8e",
    "compare/hardliners/shares.csv": "1cd510524aa4684a",
    "compare/hurting_stalemate/outcomes.csv": "4d1156c6bd774b64",
    "compare/hurting_stalemate/history.csv": "ad90a32834d8de93",
    "compare/hurting_stalemate/series.csv": "abf2550c41c6f7ba",
    "compare/hurting_stalemate/curve.csv": "89d7e9366016f508",
    "compare/hurting_stalemate/shares.csv": "468b8dad6764ada1",
    "compare/kursk_momentum/outcomes.csv": "2f85485b9f551f5f",
    "compare/kursk_momentum/history.csv": "855567749a4f2d92",
    "compare/kursk_momentum/series.csv": "4d754e9560f3d273",
    "compare/kursk_momentum/curve.csv": "f70da136937fdb7a",
    "compare/kursk_momentum/shares.csv": "f6ff5818021bdd78",
    "compare/leaders_call/outcomes.csv": "6adce3a74292d5e3",
    "compare/leaders_call/history.csv": "2a2c8ee525fe1f83",
    "compare/leaders_call/series.csv": "1ddf4589e8039ff9",
    "compare/leaders_call/curve.csv": "7028f2811405dc63",
    "compare/leaders_call/shares.csv": "d14ca90e1d23a40b",
    "compare/mediator_listens/outcomes.csv": "4f926f98514b5add",
    "compare/mediator_listens/history.csv": "09fabb8944d36287",
    "compare/mediator_listens/series.csv": "65dadd7ca7e39e1c",
    "compare/mediator_listens/curve.csv": "ffd3a30c01e994b3",
    "compare/mediator_listens/shares.csv": "b0f2b344c84c4dae",
    "compare/russia_conditions/outcomes.csv": "ce0e145639060492",
    "compare/russia_conditions/history.csv": "ff4c9997df29126c",
    "compare/russia_conditions/series.csv": "31f4b9e0aca3e6d6",
    "compare/russia_conditions/curve.csv": "efdea2e682eca7e9",
    "compare/russia_conditions/shares.csv": "9bedd2919841acb2",
    "compare/us_pressure_russia/outcomes.csv": "6e94a2f8031cdec3",
    "compare/us_pressure_russia/history.csv": "817383dd86598c5c",
    "compare/us_pressure_russia/series.csv": "bdb9295558fd9d6c",
    "compare/us_pressure_russia/curve.csv": "1f3be3f708a298ae",
    "compare/us_pressure_russia/shares.csv": "1a961258ea3ef857",
    "compare/us_pressure_ukraine/outcomes.csv": "3743510da4a9e65c",
    "compare/us_pressure_ukraine/history.csv": "26d96a1751a7e9f9",
    "compare/us_pressure_ukraine/series.csv": "d28ddd078ae6527e",
    "compare/us_pressure_ukraine/curve.csv": "054f3c403689387d",
    "compare/us_pressure_ukraine/shares.csv": "1e0a74eb4a136cd6",
    "compare/summary.csv": "468a13cbcad79dba",
    "compare/hypotheses.csv": "13c0f5d3d8a70968",
    "trace/baseline/3.json": "45ffd00e44f5749f",
    "trace/leaders_call/5.json": "9f89167daf894d55",
    "trace/mediator_listens/1.json": "58bd46ba7ae4eed3",
    "trace/europe/0.json": "b817a95d4d68d70e",
    "sweep/sweep.csv": "926e7227b15423d5",
    "sensitivity/tornado.csv": "1d77a14d3de42933",
    "engine/baseline": "72e7e27ab4e6ea6f",
    "engine/commitment_problem": "a7fc37105ad81ed6",
    "engine/europe": "d67754a665f3c6a9",
    "engine/hardliners": "f38bf5824b261c82",
    "engine/hurting_stalemate": "f736534d98fe7858",
    "engine/kursk_momentum": "60ffb5fe1bafbe5c",
    "engine/leaders_call": "21773aef2e88cd07",
    "engine/mediator_listens": "9d5356f2bf836f3c",
    "engine/russia_conditions": "90c410c66d4ffb03",
    "engine/us_pressure_russia": "0af98654e34a3253",
    "engine/us_pressure_ukraine": "09e2247248a6596a",
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
