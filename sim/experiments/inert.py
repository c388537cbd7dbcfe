"""Parameters a scenario never reads: sweeping one gives a flat answer, so it is refused up front.

A lever that may be used 0 times never fires, so its strength, start day and target do nothing;
an event of probability 0 never fires, so its shifts do nothing; the balance of power moves nobody
whose war values do not depend on it, and such a dependence does nothing while the balance stays at
0; a violation rate of 0 makes monitoring moot. Each rule names
why, so the message can say what would make the parameter count (vary the gate as well, or sweep a
scenario where it is open).

The rules follow what the engine reads (``sim.engine.dynamics``); a new mechanism with an on/off
gate adds its rule here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from sim.errors import UserError
from sim.scenario import Scenario

Rule = tuple[re.Pattern[str], Callable[[Scenario, re.Match[str]], str | None]]


def _lever(sc: Scenario, m: re.Match[str]) -> str | None:
    lever = sc.levers[m["id"]]
    if m["field"] != "max_uses" and lever.max_uses == 0:
        return f"levers.{m['id']}.max_uses is 0, so the lever '{lever.label}' is never used"
    if m["field"] != "strength" and lever.strength == 0:
        return f"levers.{m['id']}.strength is 0, so the lever '{lever.label}' moves nothing"
    horizon = sc.calendar.horizon_days
    if lever.from_day > horizon and m["field"] != "from_day":
        return f"levers.{m['id']}.from_day is {lever.from_day}, after the horizon (day {horizon})"
    return None


def _event(sc: Scenario, m: re.Match[str]) -> str | None:
    event = sc.events[m["id"]]
    if m["field"] != "daily_probability" and event.daily_probability == 0:
        return f"events.{m['id']}.daily_probability is 0, so the event '{event.label}' never happens"
    horizon = sc.calendar.horizon_days
    if event.from_day > horizon and m["field"] != "from_day":
        return f"events.{m['id']}.from_day is {event.from_day}, after the horizon (day {horizon})"
    if m["field"] == "daily_probability" and not (event.reveal or event.momentum_shift or event.war_shift):
        return f"the event '{event.label}' changes nothing when it happens (no shift, no reveal)"
    return None


def _momentum_moves(sc: Scenario) -> bool:
    mo = sc.dynamics.momentum
    shifted = any(e.momentum_shift for e in sc.events.values())
    rebuilt = any(rb.per_day for rb in sc.dynamics.rebuild.values())
    return bool(mo.initial or mo.drift or mo.noise or shifted or rebuilt)


def _momentum(sc: Scenario, m: re.Match[str]) -> str | None:
    if any(fv.momentum for p in sc.parties.values() for fv in p.war.values()):
        return None
    return "no party's war value moves with the balance of power (every war.<front>.momentum is 0)"


def _slope(sc: Scenario, m: re.Match[str]) -> str | None:
    if _momentum_moves(sc):
        return None
    return (
        "the balance of power stays at 0 (dynamics.momentum initial, drift and noise are 0, no rebuild "
        "during truces, no event shifts it)"
    )


def _violations(sc: Scenario, m: re.Match[str]) -> str | None:
    if m["field"] != "daily_probability" and sc.truce.violations.daily_probability == 0:
        return "truce.violations.daily_probability is 0, so no truce is ever violated"
    return None


RULES: list[Rule] = [
    (re.compile(r"^levers\.(?P<id>[^.]+)\.(?P<field>.+)$"), _lever),
    (re.compile(r"^events\.(?P<id>[^.]+)\.(?P<field>.+)$"), _event),
    (re.compile(r"^dynamics\.(momentum\.(?P<field>initial|drift|reversion|noise)|rebuild\..+)$"), _momentum),
    (re.compile(r"^parties\.[^.]+\.war\.[^.]+\.momentum$"), _slope),
    (re.compile(r"^truce\.violations\.(?P<field>.+)$"), _violations),
]


def why_inert(sc: Scenario, path: str) -> str | None:
    """Why ``sc`` never reads the parameter at ``path`` (None if it may)."""
    for pattern, rule in RULES:
        m = pattern.match(path)
        if m:
            try:
                return rule(sc, m)
            except KeyError:
                return None  # not this scenario's: the path check reports it
    return None


def check_axes(base: Scenario, paths: Sequence[str], points: Sequence[Scenario]) -> None:
    """Refuse a sweep in which some varied parameter is read at no point of the grid, naming why."""
    for path in paths:
        reasons = [why_inert(sc, path) for sc in points]
        if reasons and all(reasons):
            name = Path(base.path).name if base.path else base.name
            raise UserError(
                f"{path} does nothing in {name}: {reasons[0]}; nothing was run. Vary what switches it on "
                "as well (a second --vary), or sweep a scenario in which it is on"
            )
