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
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from sim.engine.model import NegotiationModel
from sim.engine.outcomes import OutcomeSpace, check_negotiable
from sim.errors import UserError, show
from sim.scenario import Scenario, load_raw, validate, with_overrides
from sim.scenario.loading import find_scenarios, parent_name, read_toml

WHY = "set on the classroom dashboard"


def number(settings: dict[str, Any], name: str) -> float:
    """A numeric setting (0 when absent); a value that is not a number is a one-line error."""
    value = settings.get(name, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"{name} is a number, not {show(repr(value))}")
    return float(value)


def edited(raw: dict[str, Any], settings: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The scenario dict with the dashboard's settings applied, and notes on what was adjusted."""
    raw = copy.deepcopy(raw)
    notes: list[str] = []
    mediator_side = raw["mediator"]["party"]
    for pid in raw["parties"]:
        strength = number(settings, f"pressure_{pid}")
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
            "initial": number(settings, "momentum"),
            "assumption": WHY,
        }
    cost = number(settings, "cost_of_war")
    if cost:
        for party in raw["parties"].values():
            for fv in party.get("war", {}).values():
                fv["mean"] = fv["mean"] - cost
                fv["assumption"] = WHY
    bar = number(settings, "ratification_bar")
    if bar:
        for party in raw["parties"].values():
            if "veto" in party:
                party["veto"]["threshold"]["mean"] += bar
                party["veto"]["threshold"]["assumption"] = WHY
    opening = {k[len("opening_") :]: v for k, v in settings.items() if k.startswith("opening_")}
    for issue, option in opening.items():
        if not isinstance(option, str):
            raise UserError(f"opening_{issue} is one of the issue's options, not {show(repr(option))}")
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
        # a stick in the war's units: a share of the target's daily value of the war (Lever)
        params[f"pressure_{pid}"] = {
            "type": "SliderFloat",
            "label": f"Pressure on {p.label}",
            "value": 0.0,
            "min": 0.0,
            "max": 1.0,
            "step": 0.05,
            "unit": "of its daily war value",
        }
    params["momentum"] = {
        "type": "SliderFloat",
        "label": "Balance of power on day 0",
        "value": sc.dynamics.momentum.initial,
        "min": -1.0,
        "max": 1.0,
        "step": 0.05,
        "unit": favoured(sc),
    }
    params["cost_of_war"] = {
        "type": "SliderFloat",
        "label": "Extra cost of war",
        "value": 0.0,
        "min": -0.002,
        "max": 0.004,
        "step": 0.0002,
        "unit": "a day",
    }
    params["ratification_bar"] = {
        "type": "SliderFloat",
        "label": "Hardliners' bar",
        "value": 0.0,
        "min": -0.1,
        "max": 0.3,
        "step": 0.01,
        "unit": "of a deal",
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


def favoured(sc: Scenario) -> dict[str, str]:
    """Which party a positive or negative balance of power favours: on the momentum's front, the
    party whose daily value of fighting rises most (or falls most) with the balance."""
    front = sc.dynamics.momentum.front
    slopes = {p.label: p.war[front].momentum for p in sc.parties.values() if front in p.war}
    if not slopes or not any(slopes.values()):
        return {"+": "", "-": ""}
    return {"+": max(slopes, key=slopes.__getitem__), "-": min(slopes, key=slopes.__getitem__)}


def shown(control: dict[str, Any], value: Any) -> str:
    """A control's value as the dashboard prints it beside the slider, with its unit."""
    unit = control.get("unit")
    if isinstance(unit, dict):  # the balance of power: whose way it leans
        side = unit["+"] if value > 0 else unit["-"] if value < 0 else ""
        return f"{value:+.2f}, {side}'s way" if side else f"{value:+.2f}"
    if control.get("type") != "SliderFloat":
        return str(value)
    digits = 4 if control["step"] < 0.001 else 2
    return f"{value:+.{digits}f} {unit}" if control["min"] < 0 else f"{value:.{digits}f} {unit}"


def date_of(sc: Scenario, day: float) -> dt.date:
    """The calendar date of model day ``day`` (day 0 is the scenario's start)."""
    return dt.date.fromisoformat(sc.calendar.start) + dt.timedelta(days=int(day))


def run_to(model: NegotiationModel, day: float) -> None:
    """Step the model a day at a time until ``day`` (at most its horizon)."""
    day = min(day, model.spec.calendar.horizon_days)
    while model.time < day:
        model.step()


def in_force(model: NegotiationModel) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Days so far (from 0) and, per class, the share of worlds with it in force on each."""
    frame = model.datacollector.get_model_vars_dataframe()
    ids = model.space.class_order
    days = np.concatenate([[0.0], frame["day"].to_numpy(dtype=float)]) if len(frame) else np.zeros(1)
    start = {c: 1.0 if c == ids[-1] else 0.0 for c in ids}  # day 0: nothing in force yet
    shares = {c: np.concatenate([[start[c]], frame[f"share_{c}"].to_numpy(dtype=float)]) for c in ids}
    return days, shares


@dataclass(frozen=True)
class Preset:
    """A scenario the dashboard can switch to: the one it was started on, or one of the worksheet's
    variants of it. ``reference`` is the file its curves are compared with (the file it extends)."""

    name: str
    title: str
    path: Path
    reference: Path
    questions: int


def presets(path: str | Path) -> list[Preset]:
    """The scenario at ``path`` and every worksheet variant of it beside it: each file in the same
    folder that extends it and states hypotheses (``expect``), as ``negsim worksheet`` lists them."""
    path = Path(path).resolve()
    own = read_toml(path)
    out = [Preset(path.stem, own.get("title", path.stem), path, path, len(own.get("expect", {})))]
    for f in find_scenarios([path.parent]):
        raw = read_toml(f)
        parent = raw.get("extends")
        if f.resolve() == path or not isinstance(parent, str) or not raw.get("expect"):
            continue
        if (f.parent / parent).resolve() == path:
            out.append(Preset(f.stem, raw.get("title", f.stem), f.resolve(), path, len(raw["expect"])))
    return out


@lru_cache(maxsize=16)
def reference(path: str, replications: int) -> tuple[str, np.ndarray, dict[str, np.ndarray]]:
    """The reference scenario's curves, played to its horizon with no setting moved: its title, the
    days and each class's share in force. Cached: every session compares with the same worlds."""
    model = ClassroomModel(path, replications)
    run_to(model, model.spec.calendar.horizon_days)
    days, shares = in_force(model)
    return model.spec.title, days, shares
