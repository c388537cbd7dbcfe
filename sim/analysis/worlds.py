"""Bargaining problems of a scenario: on its mean parameters day by day, and in each simulated world
on the day an agreement was signed.

A package's value to a party is its terms plus the war it leaves running (``sim.engine.valuation``),
so the problem moves with the balance of power, the pressure on each party and the carrots it has
been given. This module assembles the problem from those inputs itself (a party's value tables, the
balance, the pressure, the carrots, what is in force and how long its truce has left); it never asks
the engine whether a party would accept.

**Mean parameters.** Every draw is its mean (``uncertainty.exact``). The balance of power follows its
expected path while the war runs on every front (drift and reversion, no noise, no deal): the
exact solution the engine's transition follows. Levers that fire by the calendar (``always`` and
``from_day``) are counted as fired at every contact they may (day 0, then every mean interval), up
to their ``max_uses``; levers
that fire on a refusal and random events are left out (whether they fire depends on the talks).

**Simulated worlds.** :class:`Recorder` is the engine's model, which notes, before it banks a text,
the state of each world it banks in; :func:`replay_chunk` replays a chunk of a run (same seeds, same
worlds as ``negsim run``) and measures each agreement in its own world's problem.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from sim.analysis import bargaining as B
from sim.engine.dynamics import ou_transition, stick_size
from sim.engine.model import NegotiationModel
from sim.engine.outcomes import STATUS_QUO, OutcomeSpace
from sim.engine.valuation import Values
from sim.experiments.chunks import CHUNK, chunk_bounds, chunk_seed, compiled_space
from sim.scenario import Scenario


@dataclass(frozen=True)
class State:
    """What the values of one world depend on at one moment.

    momentum: the balance of power; shift (n, F): the pressure on each party's daily value of each
    front; locked (P,): packages holding a carrot not yet offered (not to be agreed yet);
    inforce: the package in force (the disagreement point); truce_left: days left of its truce.
    """

    day: float
    momentum: float
    shift: np.ndarray
    locked: np.ndarray
    inforce: int = STATUS_QUO
    truce_left: float = 0.0


def mean_scenario(sc: Scenario) -> Scenario:
    """The scenario with every draw at its mean (no sampling)."""
    exact = sc.uncertainty.model_copy(update={"exact": True})
    return sc.model_copy(update={"uncertainty": exact})


def required_masks(space: OutcomeSpace) -> np.ndarray:
    """(n, P) whose consent each package needs."""
    return np.stack([space.required_mask(p) for p in space.scenario.parties.values()])


def truce_days(space: OutcomeSpace, state: State) -> np.ndarray:
    """(1, O) how long a truce of each option would run from now: the truce in force keeps what is
    left of it, another option runs its full length, no truce is 0 days."""
    sc = space.scenario
    days = np.full((1, len(space.options[space.truce_k])), float(sc.truce.days))
    days[0, 0] = 0
    current = space.truce[state.inforce]
    if current > 0:
        days[0, current] = state.truce_left
    return days


def problem(space: OutcomeSpace, values: list[Values], row: int, state: State) -> B.Problem:
    """The bargaining problem of world ``row`` in ``state``: each party's surplus of each package
    over what is in force (a carrot is an option, valued in the terms); the packages that may be
    agreed are the negotiable extensions of what is in force (nothing banked is dropped), without a
    carrot not yet offered."""
    sc = space.scenario
    rows = np.array([row])
    days = truce_days(space, state)
    q = state.inforce
    surplus = np.empty((len(values), space.n))
    for i, v in enumerate(values):
        val = v.of(
            space,
            rows,
            None,
            days,
            np.array([state.momentum]),
            state.shift[i][None],
            sc.valuation.window_days,
        )
        surplus[i] = val[0] - val[0, q]
    feasible = space.negotiable & space.extends(np.array([q]))[0] & ~state.locked
    return B.Problem(surplus, feasible, required_masks(space), q)


# ---------------------------------------------------------------- the mean parameters, day by day


def expected_momentum(sc: Scenario, day: int) -> float:
    """The balance of power on ``day`` along its expected path with the war running on every front."""
    mo = sc.dynamics.momentum
    return float(ou_transition(np.float64(mo.initial), np.float64(day), mo.drift, mo.reversion, 0.0, 0.0))


def scheduled_pressure(sc: Scenario, space: OutcomeSpace, day: int) -> tuple[np.ndarray, np.ndarray]:
    """(shift (n, F), locked (P,)) from the levers that fire by the calendar, by ``day``: sticks
    counted fully phased in; packages holding a carrot not yet offered are locked."""
    pids = list(sc.parties)
    shift = np.zeros((len(pids), len(space.fronts)))
    locked = np.zeros(space.n, dtype=bool)
    every = sc.calendar.contacts.mean_interval_days  # contacts on day 0 and every mean interval
    for lv in sc.levers.values():
        if lv.policy == "on_rejection" or lv.strength == 0 or lv.max_uses == 0:
            if lv.kind == "carrot":
                locked |= space.holds(lv.option)
            continue
        fired = sum(1 for n in range(int(day // every) + 1) if n * every >= lv.from_day)
        fired = min(fired, lv.max_uses)
        i = pids.index(lv.target)
        if lv.kind == "stick":
            fronts = np.isin(space.fronts, lv.fronts) if lv.fronts else np.ones(len(space.fronts), bool)
            shift[i, fronts] -= fired * stick_size(sc, lv) / fronts.sum()
        elif fired == 0:
            locked |= space.holds(lv.option)
    return shift, locked


def analysis_days(sc: Scenario) -> list[int]:
    """The days on which the mean problem is solved: the start; each truce length after it (the
    balance drifts while the war runs, so values move in between; a truce length is the step at
    which a party would weigh a deal again); and the days scheduled levers start, up to the horizon.
    """
    horizon = sc.calendar.horizon_days
    days = {0, *range(sc.truce.days, horizon + 1, sc.truce.days)}
    days |= {
        lv.from_day for lv in sc.levers.values() if lv.policy != "on_rejection" and lv.from_day <= horizon
    }
    return sorted(days)


def mean_values(sc: Scenario) -> tuple[OutcomeSpace, list[Values]]:
    """The outcome space and each party's value tables at the mean parameters (one world)."""
    msc = mean_scenario(sc)
    space = compiled_space(msc)
    model = NegotiationModel(msc, replications=1, rng=0, space=space)
    return space, [p.values for p in model.parties]


def mean_state(sc: Scenario, space: OutcomeSpace, day: int) -> State:
    shift, locked = scheduled_pressure(sc, space, day)
    return State(day, expected_momentum(sc, day), shift, locked)


@dataclass
class MeanAnalysis:
    """The mean problem solved on each analysis day."""

    scenario: Scenario
    space: OutcomeSpace
    days: list[int]
    states: list[State]
    problems: list[B.Problem]
    solutions: list[B.Solution]

    @property
    def parties(self) -> list[str]:
        return list(self.scenario.parties)

    def date(self, day: int) -> str:
        return (date.fromisoformat(self.scenario.calendar.start) + timedelta(days=day)).isoformat()

    def zone_table(self) -> pd.DataFrame:
        """One row per day: the balance, the zone's size (and share of what may be agreed), the frontier's."""
        rows = []
        for d, st, pr, so in zip(self.days, self.states, self.problems, self.solutions, strict=True):
            rows.append(
                {
                    "day": d,
                    "date": self.date(d),
                    "momentum": st.momentum,
                    "negotiable": int(pr.feasible.sum()),
                    "zone": int(so.zone.sum()),
                    "zone_share": so.zone.sum() / max(int(pr.feasible.sum()), 1),
                    "frontier": int(so.frontier.sum()),
                }
            )
        return pd.DataFrame(rows)

    def points_table(self) -> pd.DataFrame:
        """One row per day and theory point: the package, its class and each party's surplus over no deal."""
        space, rows = self.space, []
        for d, pr, so in zip(self.days, self.problems, self.solutions, strict=True):
            for name, p in so.points().items():
                row = {"day": d, "date": self.date(d), "point": name}
                if p == B.NONE:
                    row |= {"package": -1, "outcome": "empty zone", "terms": ""}
                    row |= {f"surplus_{pid}": np.nan for pid in self.parties} | {"welfare": np.nan}
                else:
                    row |= {
                        "package": p,
                        "outcome": space.class_order[space.package_class[p]],
                        "terms": describe(space, p),
                    }
                    row |= {f"surplus_{pid}": pr.surplus[i, p] for i, pid in enumerate(self.parties)}
                    row["welfare"] = pr.surplus[:, p].sum()
                rows.append(row)
        return pd.DataFrame(rows)

    def packages_table(self, day_index: int = 0) -> pd.DataFrame:
        """Every package that may be agreed on one analysis day, with its surpluses and where it lies."""
        pr, so, space = self.problems[day_index], self.solutions[day_index], self.space
        cols = np.flatnonzero(pr.feasible)
        out = pd.DataFrame(
            {
                "package": cols,
                "outcome": [space.class_order[space.package_class[p]] for p in cols],
                "terms": [describe(space, p) for p in cols],
                "in_zone": so.zone[cols],
                "pareto": so.frontier[cols],
            }
        )
        for i, pid in enumerate(self.parties):
            out[f"surplus_{pid}"] = pr.surplus[i, cols]
        for name, p in so.points().items():
            out[name] = cols == p
        return out


def describe(space: OutcomeSpace, p: int) -> str:
    """A package's terms, issue=option, leaving out issues at their first option (nothing agreed)."""
    parts = [
        f"{issue}={space.options[k][o]}"
        for k, (issue, o) in enumerate(zip(space.issues, space.packages[p], strict=True))
        if o != 0
    ]
    return ", ".join(parts) or "nothing agreed"


def analyse_means(sc: Scenario, days: list[int] | None = None) -> MeanAnalysis:
    """Solve the mean problem (see the module's docstring) on ``days`` (default :func:`analysis_days`)."""
    days = analysis_days(sc) if days is None else sorted(set(days))
    space, values = mean_values(sc)
    states = [mean_state(sc, space, d) for d in days]
    problems = [problem(space, values, 0, st) for st in states]
    return MeanAnalysis(sc, space, days, states, problems, [B.solve(p) for p in problems])


# ---------------------------------------------------------------- simulated worlds


class Recorder(NegotiationModel):
    """The engine's model, noting before each banking the state of each world that banks, and after
    each day the package in force in every world."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.banks: list[dict[str, np.ndarray | int]] = []
        self.path: list[np.ndarray] = []

    def bank(self, rows: np.ndarray, pkg: np.ndarray) -> None:
        if rows.size:
            self.banks.append(
                {
                    "rows": rows.copy(),
                    "day": self.clock[rows].copy(),
                    "package": pkg.copy(),
                    "momentum": self.battlefield.momentum[rows].copy(),
                    "shift": np.stack([p.shift[rows] for p in self.parties], axis=1),  # (r, n, F)
                    "locked": self._locked(rows),  # (r, P)
                    "inforce": self.inforce[rows].copy(),
                    "truce_left": np.where(
                        self.space.truce[self.inforce[rows]] > 0,
                        np.maximum(self.truces.end[rows] - self.clock[rows], 0.0),
                        0.0,
                    ),
                }
            )
        super().bank(rows, pkg)

    def _locked(self, rows: np.ndarray) -> np.ndarray:
        locked = self.levers.locked(rows)
        return np.zeros((rows.size, self.space.n), dtype=bool) if locked is None else locked

    def step(self) -> None:
        super().step()
        self.path.append(self.inforce.copy())

    def states(self):
        """(world row, banked package, state before banking) for every banking, in order."""
        for b in self.banks:
            for k, row in enumerate(b["rows"]):
                st = State(
                    float(b["day"][k]),
                    float(b["momentum"][k]),
                    b["shift"][k],
                    b["locked"][k],
                    int(b["inforce"][k]),
                    float(b["truce_left"][k]),
                )
                yield int(row), int(b["package"][k]), st


def recorder(sc: Scenario, seed: int, start: int, stop: int) -> Recorder:
    """Worlds [start, stop) of a run (``start`` a multiple of CHUNK), seeded as ``negsim run`` seeds them."""
    return Recorder(
        sc,
        replications=stop - start,
        rng=np.random.default_rng(chunk_seed(seed, start // CHUNK)),
        space=compiled_space(sc),
    )


@dataclass
class Replayed:
    """One replayed chunk: each agreement measured in its world's problem, and the package in force
    in every world at the end of each day (worlds x days)."""

    start: int
    agreements: pd.DataFrame
    path: np.ndarray = field(repr=False)


AGREEMENT_COLUMNS = ("replication", "day", "package", "outcome", "inforce_before")


def measure(space: OutcomeSpace, values: list[Values], row: int, pkg: int, st: State) -> dict:
    """One agreement in its world's problem: gains, welfare, whether it lies in the zone and on the
    frontier, its distance to the frontier and to the Nash package."""
    pr = problem(space, values, row, st)
    so = B.solve(pr)
    out = {f"gain_{pid}": pr.surplus[i, pkg] for i, pid in enumerate(space.scenario.parties)}
    out["welfare"] = pr.surplus[:, pkg].sum()
    out["in_zone"] = bool(so.zone[pkg])
    out["pareto_optimal"] = bool(so.frontier[pkg])
    out["to_frontier"] = B.distance_to(pr, pkg, so.frontier)
    out["nash"] = so.nash
    out["is_nash"] = so.nash == pkg
    out["to_nash"] = B.distance_to(pr, pkg, np.array([so.nash])) if so.nash != B.NONE else np.nan
    return out


def replay_chunk(sc: Scenario, seed: int, start: int, stop: int, measure_agreements: bool = True) -> Replayed:
    """Replay worlds [start, stop) of a run; measure each agreement (unless told not to)."""
    model = recorder(sc, seed, start, stop).run()
    space = model.space
    values = [p.values for p in model.parties]
    rows = []
    if measure_agreements:
        for row, pkg, st in model.states():
            rec = {
                "replication": start + row,
                "day": st.day,
                "package": pkg,
                "outcome": space.class_order[space.package_class[pkg]],
                "inforce_before": st.inforce,
            }
            rows.append(rec | measure(space, values, row, pkg, st))
    frame = pd.DataFrame(rows)
    path = np.stack(model.path, axis=1) if model.path else np.zeros((stop - start, 0), dtype=np.int64)
    return Replayed(start, frame, path)


def replay(sc: Scenario, executor: Executor | None = None, measure_agreements: bool = True) -> list[Replayed]:
    """Replay every chunk of the scenario's run (its seed and replications), in order, on ``executor``."""
    bounds = chunk_bounds(sc.replications)
    if executor is None:
        return [replay_chunk(sc, sc.seed, a, b, measure_agreements) for a, b in bounds]
    futures = [executor.submit(replay_chunk, sc, sc.seed, a, b, measure_agreements) for a, b in bounds]
    return [f.result() for f in futures]


def agreements_frame(chunks: list[Replayed]) -> pd.DataFrame:
    frames = [c.agreements for c in chunks if len(c.agreements)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=AGREEMENT_COLUMNS)


def agreement_summary(sc: Scenario, agreements: pd.DataFrame) -> pd.DataFrame:
    """One row: how the simulated agreements of a run compare with theory, each in its own world's
    problem on the day it was signed (mean gains and welfare; the share Pareto-optimal, the share
    that are that world's Nash package, the share in the zone; mean distances in utility space to the
    frontier and to the Nash package). The comparison report takes one such row per scenario."""
    a = agreements
    row: dict[str, object] = {"scenario": sc.name, "worlds": sc.replications, "agreements": len(a)}
    for pid in sc.parties:
        row[f"gain_{pid}"] = float(a[f"gain_{pid}"].mean()) if len(a) else np.nan
    for col in ("welfare", "to_frontier", "to_nash"):
        row[col] = float(a[col].mean()) if len(a) else np.nan
    for col, name in (
        ("pareto_optimal", "pareto_share"),
        ("is_nash", "nash_share"),
        ("in_zone", "zone_share"),
    ):
        row[name] = float(a[col].mean()) if len(a) else np.nan
    return pd.DataFrame([row])
