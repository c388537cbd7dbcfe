"""The world around the table: the balance of power, truces that end, events and levers.

Every random number of a world is drawn from a stream of its own kind and round, filled world by
world, so world j on day d is the same however many worlds are played and whatever the horizon.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.engine.outcomes import OutcomeSpace
from sim.scenario import schema as S

Stream = Callable[..., np.random.Generator]


def per_round(daily: float, days: int) -> float:
    """The chance that something with a daily probability happens at least once in ``days``."""
    return 1.0 - (1.0 - daily) ** days


class Battlefield:
    """The balance of power m: a mean-reverting walk with drift while the land war runs.

    Per day while the momentum's front is open: m += drift - reversion * m, plus noise times a
    standard normal per square-root day (an Ornstein-Uhlenbeck step). While a truce closes that front
    the fighting does not move it; instead it moves by the package's ``rebuild`` rate: the side free
    to mobilize, train and receive weapons during the pause recovers (Fearon 1995).
    """

    def __init__(self, spec: S.Momentum, space: OutcomeSpace, stream: Stream, n: int) -> None:
        self.spec, self.space, self.stream = spec, space, stream
        self.front = space.fronts.index(spec.front)
        self.momentum = np.full(n, spec.initial, dtype=np.float64)
        self.n = n

    def advance(self, t: int, idx: np.ndarray, inforce: np.ndarray, days: int) -> None:
        s, m = self.spec, self.momentum[idx]
        eps = self.stream("battlefield", t).standard_normal(self.n)[idx] if s.noise > 0 else 0.0
        fighting = m + days * (s.drift - s.reversion * m) + s.noise * np.sqrt(days) * eps
        paused = m + days * self.space.rebuild[inforce]
        closed = self.space.closes[inforce, self.front]
        self.momentum[idx] = np.where(closed, paused, fighting)


class Truces:
    """Truces in force: each ends on its day unless extended, or earlier by a violation.

    A violation ends a truce with the scenario's daily probability, reduced by monitoring where the
    package provides it: Fortna (2004), *Peace Time: Cease-Fire Agreements and the Durability of
    Peace*, finds that monitoring and specific terms make ceasefires last.
    """

    def __init__(self, spec: S.Truce, space: OutcomeSpace, stream: Stream, n: int) -> None:
        self.spec, self.space, self.stream = spec, space, stream
        self.end = np.zeros(n, dtype=np.int64)  # the day the truce in force ends (0: none in force)

    def violated(self, t: int, idx: np.ndarray, inforce: np.ndarray, days: int) -> np.ndarray:
        """Mask over idx: the truce in force breaks down during this cycle."""
        v = self.spec.violations
        if v.daily_probability == 0:
            return np.zeros(idx.size, dtype=bool)
        daily = np.where(
            self.space.monitored[inforce],
            v.daily_probability * (1 - v.monitoring_reduction),
            v.daily_probability,
        )
        luck = self.stream("violation", t).random(self.end.size)[idx]
        return (self.space.truce[inforce] > 0) & (luck < 1.0 - (1.0 - daily) ** days)

    def expiring(self, idx: np.ndarray, inforce: np.ndarray, day: int) -> np.ndarray:
        """Mask over idx: the truce in force reaches its end by ``day``."""
        return (self.space.truce[inforce] > 0) & (self.end[idx] <= day)


class Events:
    """Scenario events: each may happen each day (from a given day, once or repeatedly); it shifts
    parties' daily war values or the balance of power, or (a leaders' call) reveals the parties'
    priorities and margins to the mediator."""

    def __init__(self, specs: dict[str, S.Event], stream: Stream, n: int) -> None:
        self.ids, self.specs = list(specs), list(specs.values())
        self.stream, self.n = stream, n
        self.fired = np.zeros((len(self.specs), n), dtype=bool)

    def fire(self, t: int, idx: np.ndarray, day: int, days: int) -> list[np.ndarray]:
        """For each event, the mask over idx of the worlds where it happens in this cycle."""
        out = []
        for e, (eid, ev) in enumerate(zip(self.ids, self.specs, strict=True)):
            if ev.daily_probability == 0 or day < ev.from_day:
                out.append(np.zeros(idx.size, dtype=bool))
                continue
            luck = self.stream("event", eid, t).random(self.n)[idx]
            hit = luck < per_round(ev.daily_probability, days)
            if ev.once:
                hit &= ~self.fired[e, idx]
            self.fired[e, idx[hit]] = True
            out.append(hit)
        return out


class Levers:
    """Sticks and carrots applied by policy (always / on refusal / from a day, at most n times).

    A stick lowers the target's daily value of fighting on (sanctions, an aid pause), so the war it
    would keep running is worth less; a carrot raises the target's value of any deal (sanctions
    relief). Pressure is public. The article shows both levers: US aid to Kyiv paused, then resumed
    after Kyiv backed the ceasefire.
    """

    def __init__(self, specs: dict[str, S.Lever], parties: dict, fronts: list[str], n: int) -> None:
        self.ids, self.specs = list(specs), list(specs.values())
        self.targets = [parties[lv.target] for lv in self.specs]
        self.holders = [parties[lv.holder] for lv in self.specs]
        self.front_masks = [
            np.isin(fronts, lv.fronts) if lv.fronts else np.ones(len(fronts), bool) for lv in self.specs
        ]
        self.uses = np.zeros((len(self.specs), n), dtype=np.int32)

    def apply(self, idx: np.ndarray, day: int, refused_last: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Fire every lever whose policy allows it; return per lever the mask over idx that fired."""
        out = []
        for j, lv in enumerate(self.specs):
            fire = (self.uses[j, idx] < lv.max_uses) & (day >= lv.from_day) & (lv.strength > 0)
            if lv.policy == "on_rejection":
                fire &= refused_last[lv.target][idx]
            if self.holders[j].player is not None:  # a person holding the lever decides when
                ok = (self.uses[j, idx] < lv.max_uses) & (day >= lv.from_day) & (lv.strength > 0)
                fire = self.holders[j].player.levers(j, idx, fire, ok)
            if fire.any():
                self.pull(j, idx[fire])
            out.append(fire)
        return out

    def pull(self, j: int, rows: np.ndarray) -> None:
        """Lever j acts in worlds ``rows``: a stick lowers the target's daily value of fighting on
        its fronts, a carrot adds to its value of any deal (also how a teacher pulls a lever)."""
        lv, target = self.specs[j], self.targets[j]
        self.uses[j, rows] += 1
        if lv.kind == "stick":
            target.shift[np.ix_(rows, np.flatnonzero(self.front_masks[j]))] -= lv.strength
        else:
            target.bonus[rows] += lv.strength
