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
TRUCE = "scope"
TRUCE_OPTIONS = ["none", "partial", "full"]
CLOSES = {"none": [], "partial": ["energy"], "full": ["land", "energy"]}


def uncertain(mean: float, sd: float = 0.0, **extra: Any) -> dict[str, Any]:
    return {"mean": mean, "sd": sd, "assumption": WHY, **extra}


def party_raw(
    weights: dict[str, float],
    values: dict[str, dict[str, float]],
    war: dict[str, float] | None = None,
    margin: float = 0.0,
    tolerance: float = 1.0,
    concession: float = 1.0,
    sd: float = 0.0,
    momentum: dict[str, float] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One party: weights and option values per term issue, daily war value per front, margin."""
    return {
        "label": "Party",
        "positions": {
            issue: {"weight": w, "values": dict(values[issue]), "assumption": WHY}
            for issue, w in weights.items()
        },
        "war": {
            front: uncertain(v, sd, momentum=(momentum or {}).get(front, 0.0))
            for front, v in (war or {}).items()
        },
        "margin": uncertain(margin, sd),
        "tolerance": uncertain(tolerance),
        "concession": uncertain(concession),
        **extra,
    }


def scenario_raw(
    terms: dict[str, list[str]],
    parties: dict[str, dict[str, Any]],
    *,
    truce_days: int = 30,
    tied: list[str] | None = None,
    window: int = 90,
    interval: float = 7.0,
    interval_sd: float = 0.0,
    horizon: int = 70,
    deadline: int | None = None,
    mediator: str | None = None,
    informed: bool = False,
    learning_step: float = 0.02,
    reach: int | None = None,
    give_up: int = 84,
    opening: dict[str, str] | None = None,
    classes: dict[str, dict[str, list[str]]] | None = None,
    concentration: float = 0.0,
    value_sd: float = 0.0,
    exact: bool = False,
    momentum: dict[str, Any] | None = None,
    rebuild: dict[str, dict[str, Any]] | None = None,
    violations: dict[str, Any] | None = None,
    levers: dict[str, dict[str, Any]] | None = None,
    events: dict[str, dict[str, Any]] | None = None,
    replications: int = 50,
    seed: int = 1,
) -> dict[str, Any]:
    """A complete scenario dict: a truce issue ``scope`` (none / partial: energy / full: land and
    energy) before the term issues; by default every package but the status quo is a ``deal``."""
    raw: dict[str, Any] = {
        "title": "Test scenario",
        "summary": "Built by the tests.",
        "seed": seed,
        "replications": replications,
        "calendar": {
            "start": "2025-03-13",
            "contacts": {"mean_interval_days": interval, "sd_days": interval_sd, "assumption": WHY},
            "horizon_days": horizon,
            "assumption": WHY,
            **({"deadline_day": deadline} if deadline else {}),
        },
        "valuation": {"window_days": window, "assumption": WHY},
        "fronts": {"land": {"label": "Land"}, "energy": {"label": "Energy"}},
        "truce": {
            "issue": TRUCE,
            "days": truce_days,
            "closes": {k: list(v) for k, v in CLOSES.items()},
            "tied": list(tied or []),
            "assumption": WHY,
            **({"violations": {**violations, "assumption": WHY}} if violations else {}),
        },
        "issues": {
            TRUCE: {"label": "Truce", "options": list(TRUCE_OPTIONS)},
            **{k: {"label": k.title(), "options": list(v)} for k, v in terms.items()},
        },
        "parties": copy.deepcopy(parties),
        "mediator": {
            "party": mediator or next(iter(parties)),
            "informed": informed,
            "learning_step": learning_step,
            "assumption": WHY,
            "give_up": {"after_stalled_days": give_up, "assumption": WHY},
            **({"reach": reach} if reach else {}),
        },
        "uncertainty": {
            "weight_concentration": concentration,
            "value_sd": value_sd,
            "exact": exact,
            "assumption": WHY,
        },
        "dynamics": {
            "momentum": {**(momentum or {}), "assumption": WHY},
            "rebuild": {k: {**v, "assumption": WHY} for k, v in (rebuild or {}).items()},
        },
        "classes": {
            cid: {"label": cid.replace("_", " "), "when": dict(when)}
            for cid, when in (classes or {"deal": {}}).items()
        },
    }
    if opening is not None:
        raw["opening"] = {
            "package": {TRUCE: "none", **{k: v[0] for k, v in terms.items()}, **opening},
            "assumption": WHY,
        }
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


def exact_party(rng: np.random.Generator, terms: dict[str, list[str]]) -> dict[str, Any]:
    """A party whose numbers are dyadic (weights k/16, values k/8, daily war values k/1024).

    With a 64-day window every value is a multiple of 1/128 computed exactly in floating point,
    so a brute force in plain Python and the engine's arrays agree to the last bit.
    """
    weights = [w / 16 for w in compositions(rng, len(terms), 16)]
    values = {i: {o: int(rng.integers(0, 9)) / 8 for o in opts} for i, opts in terms.items()}
    war = {f: int(rng.integers(-4, 3)) / 1024 for f in ("land", "energy")}
    return party_raw(
        dict(zip(terms, weights, strict=True)),
        values,
        war=war,
        interactions=random_interactions(rng, terms, most=2),
    )


def package_value(party: dict[str, Any], raw: dict[str, Any], chosen: dict[str, str]) -> float:
    """A package's value over no deal, from the scenario dict alone, for a truce that outlasts the
    valuation window: the terms it changes plus the daily war value of the fronts it closes."""
    u = 0.0
    for issue, pos in party["positions"].items():
        first = raw["issues"][issue]["options"][0]
        u += pos["weight"] * (pos["values"][chosen[issue]] - pos["values"][first])
    for term in party.get("interactions", {}).values():
        holds = all(chosen[i] == o for i, o in term["when"].items())
        at_first = all(raw["issues"][i]["options"][0] == o for i, o in term["when"].items())
        u += term["value"] * (holds - at_first)
    window = raw["valuation"]["window_days"]
    for front in raw["truce"]["closes"][chosen[TRUCE]]:
        u -= window * party["war"].get(front, {"mean": 0.0})["mean"]
    return u


def brute_force_nash(raw: dict[str, Any]) -> tuple[int | None, list[tuple[int, ...]]]:
    """Index of the package maximising prod_i (value over no deal) among packages every party
    values strictly above no deal; ties to the larger total, then the lower index. None if no
    package is better than no deal for everyone. Tied terms need a truce."""
    issues = {k: v["options"] for k, v in raw["issues"].items()}
    names = list(issues)
    packages = list(itertools.product(*(range(len(o)) for o in issues.values())))
    tied = set(raw["truce"]["tied"])
    best_key, best = None, None
    for j, pkg in enumerate(packages):
        chosen = {names[k]: issues[names[k]][o] for k, o in enumerate(pkg)}
        if chosen[TRUCE] == issues[TRUCE][0] and any(chosen[i] != issues[i][0] for i in tied):
            continue
        surplus = [package_value(p, raw, chosen) for p in raw["parties"].values()]
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
