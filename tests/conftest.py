"""Helpers that build small scenarios in code, so engine tests do not depend on the bundled files.

``scenario_raw`` returns a plain dict shaped like a scenario file (every collection a table keyed by
id, every position with ``assumption = "..."``); ``make_scenario`` validates it through
``sim.scenario.validate`` exactly as a loaded file would be. ``to_toml`` writes such a dict as a
TOML file for the command-line tests.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.engine.outcomes import check_negotiable
from sim.scenario import Scenario, validate

WHY = "chosen for the test"


def uncertain(mean: float, sd: float = 0.0) -> dict[str, Any]:
    return {"mean": mean, "sd": sd, "assumption": WHY}


def party_raw(
    weights: dict[str, float],
    values: dict[str, dict[str, float]],
    reservation: float = 0.3,
    opening: float | None = None,
    concession: float = 1.0,
    sd: float = 0.0,
    **extra: Any,
) -> dict[str, Any]:
    """One party: weights and option values per issue, reservation/opening/concession with sd."""
    return {
        "label": "Party",
        "positions": {
            issue: {"weight": w, "values": dict(values[issue]), "assumption": WHY}
            for issue, w in weights.items()
        },
        "reservation": uncertain(reservation, sd),
        "opening": uncertain(reservation if opening is None else opening, sd),
        "concession": uncertain(concession, 0.0),
        **extra,
    }


def scenario_raw(
    issues: dict[str, list[str]],
    parties: dict[str, dict[str, Any]],
    *,
    mediator: str | None = None,
    informed: bool = False,
    learning_step: float = 0.02,
    opening: dict[str, str] | None = None,
    classes: dict[str, dict[str, list[str]]] | None = None,
    concentration: float = 0.0,
    momentum: dict[str, float] | None = None,
    levers: dict[str, dict[str, Any]] | None = None,
    events: dict[str, dict[str, Any]] | None = None,
    rounds: int = 10,
    replications: int = 50,
    seed: int = 1,
) -> dict[str, Any]:
    """A complete scenario dict; by default every package is a deal of the single class ``deal``."""
    raw: dict[str, Any] = {
        "title": "Test scenario",
        "summary": "Built by the tests.",
        "seed": seed,
        "rounds": rounds,
        "replications": replications,
        "issues": {k: {"label": k.title(), "options": list(v)} for k, v in issues.items()},
        "parties": copy.deepcopy(parties),
        "mediator": {
            "party": mediator or next(iter(parties)),
            "informed": informed,
            "learning_step": learning_step,
            "assumption": WHY,
        },
        "uncertainty": {"weight_concentration": concentration, "assumption": WHY},
        "dynamics": {
            "momentum": {**(momentum or {"noise": 0.0, "drift": 0.0, "initial": 0.0}), "assumption": WHY}
        },
        "classes": {
            cid: {"label": cid.replace("_", " "), "when": dict(when)}
            for cid, when in (classes or {"deal": {}}).items()
        },
    }
    if opening is not None:
        raw["opening"] = {"package": dict(opening), "assumption": WHY}
    if levers:
        raw["levers"] = {k: {"label": k, "assumption": WHY, **v} for k, v in levers.items()}
    if events:
        raw["events"] = {k: {"label": k, "assumption": WHY, **v} for k, v in events.items()}
    return raw


@pytest.fixture(scope="session")
def scenario_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scenarios")


@pytest.fixture(scope="session")
def make_scenario(scenario_dir):
    """Validate a scenario dict as if it were the file ``<name>.toml``."""

    def make(raw: dict[str, Any], name: str = "test") -> Scenario:
        sc = validate(raw, scenario_dir / f"{name}.toml")
        check_negotiable(sc)  # as sim.load_scenario does, once the outcome space is compiled
        return sc

    return make


# ---------------------------------------------------------------- random domains


def compositions(rng: np.random.Generator, k: int, total: int) -> list[int]:
    """k non-negative integers summing to total (uniform cut points)."""
    cuts = sorted(int(c) for c in rng.integers(0, total + 1, size=k - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def random_issues(rng: np.random.Generator, n_issues: tuple[int, int], n_options: tuple[int, int]):
    k = int(rng.integers(n_issues[0], n_issues[1] + 1))
    return {
        f"i{a}": [f"o{b}" for b in range(int(rng.integers(n_options[0], n_options[1] + 1)))] for a in range(k)
    }


def random_interactions(rng: np.random.Generator, issues: dict[str, list[str]], most: int, grid: int = 16):
    """Up to ``most`` pairwise (or single-option) terms with values on a 1/grid lattice in [-0.5, 0.5]."""
    out = {}
    names = list(issues)
    for n in range(int(rng.integers(0, most + 1))):
        chosen = rng.choice(len(names), size=min(len(names), int(rng.integers(1, 3))), replace=False)
        when = {names[c]: issues[names[c]][int(rng.integers(len(issues[names[c]])))] for c in chosen}
        out[f"x{n}"] = {
            "when": when,
            "value": int(rng.integers(-grid // 2, grid // 2 + 1)) / grid,
            "assumption": WHY,
        }
    return out


def exact_party(rng: np.random.Generator, issues: dict[str, list[str]]) -> dict[str, Any]:
    """A party whose numbers are dyadic (weights k/16, values k/8, interactions k/16).

    Every utility is then a multiple of 1/128 computed exactly in floating point, whatever the order
    of summation, so a brute force in plain Python and the engine's arrays agree to the last bit.
    Reservations sit halfway between lattice points, so no package is exactly at a party's reservation.
    """
    weights = [w / 16 for w in compositions(rng, len(issues), 16)]
    values = {i: {o: int(rng.integers(0, 9)) / 8 for o in opts} for i, opts in issues.items()}
    reservation = int(rng.integers(0, 90)) / 128 + 1 / 256
    return party_raw(
        dict(zip(issues, weights, strict=True)),
        values,
        reservation=reservation,
        interactions=random_interactions(rng, issues, most=2),
    )


def utility(party: dict[str, Any], issues: dict[str, list[str]], package: tuple[int, ...]) -> float:
    """u(p) = sum_k w_k v_k(p_k) + interaction terms, from the scenario dict alone."""
    names = list(issues)
    chosen = {names[k]: issues[names[k]][o] for k, o in enumerate(package)}
    u = sum(pos["weight"] * pos["values"][chosen[i]] for i, pos in party["positions"].items())
    for term in party.get("interactions", {}).values():
        if all(chosen[i] == o for i, o in term["when"].items()):
            u += term["value"]
    return u


def brute_force_nash(raw: dict[str, Any]) -> tuple[int | None, list[tuple[int, ...]]]:
    """Index of the package maximising prod_i (u_i - r_i) over packages with u_i > r_i for all i.

    Ties go to the larger total surplus, then the lower package index. None if no package is
    strictly better than no deal for everyone. Packages are enumerated in the scenario's issue order.
    """
    issues = {k: v["options"] for k, v in raw["issues"].items()}
    packages = list(itertools.product(*(range(len(o)) for o in issues.values())))
    best_key, best = None, None
    for j, pkg in enumerate(packages):
        surplus = [utility(p, issues, pkg) - p["reservation"]["mean"] for p in raw["parties"].values()]
        if not all(s > 0 for s in surplus):
            continue
        key = (math.prod(surplus), sum(surplus), -j)
        if best_key is None or key > best_key:
            best_key, best = key, j
    return best, packages


# ---------------------------------------------------------------- TOML output


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def to_toml(raw: dict[str, Any]) -> str:
    """A scenario dict as TOML: scalars first, then one [dotted.table] per nested table."""
    lines: list[str] = []

    def emit(table: dict[str, Any], prefix: str) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in table.items() if isinstance(v, dict)}
        if prefix and (scalars or not tables):
            lines.append(f"\n[{prefix}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
        for k, v in tables.items():
            emit(v, f"{prefix}.{k}" if prefix else k)

    emit(raw, "")
    return "\n".join(lines) + "\n"


def write_toml(path: Path, raw: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_toml(raw), encoding="utf-8")
    return path


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """A nested dict as {dotted.path: leaf value}."""
    if isinstance(obj, dict) and obj:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}
