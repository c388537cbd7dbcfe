"""The classroom model: a scenario's ensemble with the quantities a class argues about as arguments.

``ClassroomModel`` is a :class:`~sim.engine.model.NegotiationModel` whose constructor takes the
dashboard's sliders: pressure on each party (a stick used once, on day 0, by the mediator's side,
lowering that party's daily value of fighting on every front), the balance of power on day 0, the
cost of war (taken off every party's daily value of each front), the bar the domestic ratifiers set
(added to each veto player's threshold), and what the opening text contains. Each setting edits the
scenario through the same schema a file goes through, so a slider means exactly what the equivalent
line of a scenario file would mean.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sim.engine.model import NegotiationModel
from sim.engine.outcomes import OutcomeSpace, check_negotiable
from sim.errors import UserError
from sim.scenario import Scenario, load_raw, validate, with_overrides
from sim.scenario.loading import parent_name

WHY = "set on the classroom dashboard"


def edited(raw: dict[str, Any], settings: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The scenario dict with the dashboard's settings applied, and notes on what was adjusted."""
    raw = copy.deepcopy(raw)
    notes: list[str] = []
    mediator_side = raw["mediator"]["party"]
    for pid in raw["parties"]:
        strength = float(settings.get(f"pressure_{pid}", 0.0))
        if strength > 0:
            raw.setdefault("levers", {})[f"classroom_pressure_{pid}"] = {
                "label": f"Pressure on {raw['parties'][pid]['label']}",
                "holder": mediator_side,
                "target": pid,
                "kind": "stick",
                "strength": strength,
                "policy": "always",
                "max_uses": 1,
                "assumption": WHY,
            }
    if "momentum" in settings:
        raw["dynamics"]["momentum"] = {
            **raw["dynamics"].get("momentum", {}),
            "initial": float(settings["momentum"]),
            "assumption": WHY,
        }
    cost = float(settings.get("cost_of_war", 0.0))
    if cost:
        for party in raw["parties"].values():
            for fv in party.get("war", {}).values():
                fv["mean"] = fv["mean"] - cost
                fv["assumption"] = WHY
    bar = float(settings.get("ratification_bar", 0.0))
    if bar:
        for party in raw["parties"].values():
            if "veto" in party:
                party["veto"]["threshold"]["mean"] += bar
                party["veto"]["threshold"]["assumption"] = WHY
    opening = {k[len("opening_") :]: v for k, v in settings.items() if k.startswith("opening_")}
    if opening and "opening" in raw:
        package = {**raw["opening"]["package"], **{k: v for k, v in opening.items() if k in raw["issues"]}}
        truce = raw["truce"]
        if package[truce["issue"]] == raw["issues"][truce["issue"]]["options"][0]:
            for issue in truce.get("tied", []):
                first = raw["issues"][issue]["options"][0]
                if package[issue] != first:
                    notes.append(
                        f"{issue} holds only during a truce: the opening text has none, so {issue}={first}"
                    )
                    package[issue] = first
        raw["opening"] = {"package": package, "assumption": WHY}
    return raw, notes


def classroom_scenario(path: str | Path, settings: dict[str, Any], replications: int, seed: int | None):
    path = Path(path)
    raw, notes = edited(load_raw(path), settings)
    sc = validate(raw, path, parent=parent_name(path))
    space = check_negotiable(sc)
    return with_overrides(sc, replications, seed), space, notes


class ClassroomModel(NegotiationModel):
    """The ensemble of a scenario under the dashboard's settings, stepped one day at a time."""

    def __init__(
        self,
        scenario_file: str = "scenarios/baseline.toml",
        replications: int = 300,
        seed: int | None = None,
        rng: Any = None,
        scenario: Any = None,
        **settings: Any,
    ) -> None:
        # ``scenario`` is Mesa's own experiment record, which SolaraViz passes back on Reset; the
        # worlds are fixed by the scenario file's seed (or ``seed``), so it is not used.
        try:
            sc, space, notes = classroom_scenario(scenario_file, settings, replications, seed)
        except UserError as e:
            raise ValueError(str(e)) from None
        self.settings, self.notes = dict(settings), notes
        super().__init__(sc, replications=sc.replications, rng=sc.seed if rng is None else rng, space=space)


def controls(sc: Scenario) -> dict[str, dict[str, Any]]:
    """Mesa ``model_params`` for the dashboard of scenario ``sc``: sliders and the opening text."""
    params: dict[str, dict[str, Any]] = {}
    for pid, p in sc.parties.items():
        params[f"pressure_{pid}"] = {
            "type": "SliderFloat",
            "label": f"Pressure on {p.label}",
            "value": 0.0,
            "min": 0.0,
            "max": 0.004,
            "step": 0.0002,
        }
    params["momentum"] = {
        "type": "SliderFloat",
        "label": "Balance of power on day 0",
        "value": sc.dynamics.momentum.initial,
        "min": -1.0,
        "max": 1.0,
        "step": 0.05,
    }
    params["cost_of_war"] = {
        "type": "SliderFloat",
        "label": "Extra cost of war",
        "value": 0.0,
        "min": -0.002,
        "max": 0.004,
        "step": 0.0002,
    }
    params["ratification_bar"] = {
        "type": "SliderFloat",
        "label": "Hardliners' bar",
        "value": 0.0,
        "min": -0.1,
        "max": 0.3,
        "step": 0.01,
    }
    if sc.opening is not None:
        for issue, option in sc.opening.package.items():
            params[f"opening_{issue}"] = {
                "type": "Select",
                "label": f"Opening: {sc.issues[issue].label}",
                "value": option,
                "values": list(sc.issues[issue].options),
            }
    return params


def describe(space: OutcomeSpace, pkg: int) -> str:
    return ", ".join(f"{k}={v}" for k, v in space.describe(pkg).items())
