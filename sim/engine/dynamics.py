"""The world around the table: the balance of power, truces that end, events and levers.

The world moves in *segments*: the time between two moments of one world (the end of a day, a
contact, the end of a truce), during which what is in force does not change. Each process is
advanced exactly over the segment's length in days, however long it is. Every random number of a
world is drawn from a stream of its own purpose, day and segment of that day (the world's own count),
filled world by world, so world j's draws never depend on which other worlds are talking, on their
contact times, on how many worlds are played, or on the horizon.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.engine import libm
from sim.engine.outcomes import OutcomeSpace
from sim.scenario import schema as S

Stream = Callable[..., np.random.Generator]


def within(daily: np.ndarray | float, days: np.ndarray) -> np.ndarray:
    """The chance that something with a daily probability happens at least once in ``days`` (a
    Bernoulli process per day, taken as its continuous-time limit for fractions of a day)."""
    return 1.0 - libm.power(1.0 - daily, days)


class Draws:
    """Every stream's numbers for all n worlds, drawn once per purpose and kept while it may be
    asked again: a stream is filled world by world whoever asks (``stream(*purpose)`` makes a
    fresh Generator of that purpose each time), so a kept array gives the very numbers a new
    draw would, without making the Generator again at each of a day's moments.

    ``forget`` drops what is kept: the model forgets a day's streams when the day is over (they are
    never asked again), and a forked copy forgets all when its streams change generation.
    """

    def __init__(self, stream: Stream, n: int) -> None:
        self.stream, self.n = stream, n
        self.kept: dict[tuple, np.ndarray] = {}

    def uniform(self, *purpose: object) -> np.ndarray:
        """(n,) uniform draws on [0, 1) of the stream of ``purpose``, one per world."""
        return self._kept(purpose, False)

    def normal(self, *purpose: object) -> np.ndarray:
        """(n,) standard normal draws of the stream of ``purpose``, one per world."""
        return self._kept(purpose, True)

    def _kept(self, purpose: tuple, normal: bool) -> np.ndarray:
        key = (normal, *purpose)
        out = self.kept.get(key)
        if out is None:
            g = self.stream(*purpose)
            out = self.kept[key] = g.standard_normal(self.n) if normal else g.random(self.n)
        return out

    def forget(self, keep: Callable[[tuple], bool] | None = None) -> None:
        """Drop the kept draws whose purpose ``keep`` rejects (all without ``keep``)."""
        self.kept = {} if keep is None else {k: v for k, v in self.kept.items() if keep(k[1:])}


def present(counts: np.ndarray) -> np.ndarray:
    """The distinct values of small non-negative counts (segments of a day, contacts held), in
    increasing order: ``np.unique``'s answer, by counting (no sort or hash table)."""
    return np.flatnonzero(np.bincount(counts)) if counts.size else counts


def draws(
    drawn: Draws, purpose: tuple, day: int, seg: np.ndarray, idx: np.ndarray, normal: bool = False
) -> np.ndarray:
    """One draw per world of idx from the stream of (purpose, day, segment), filled for all worlds
    and indexed by world: world j's number depends only on j, the day and j's own segment count."""
    out = np.empty(idx.size)
    for k in present(seg):
        sel = seg == k
        filled = drawn.normal(*purpose, day, int(k)) if normal else drawn.uniform(*purpose, day, int(k))
        out[sel] = filled[idx[sel]]
    return out


def ou_transition(
    m: np.ndarray, dt: np.ndarray, drift: float, reversion: float, noise: float, eps: np.ndarray | float
) -> np.ndarray:
    """The exact Ornstein-Uhlenbeck transition of dm = (drift - reversion m) dt + noise dW over dt.

    Mean m e^{-k dt} + (drift / k)(1 - e^{-k dt}), variance noise^2 (1 - e^{-2 k dt}) / (2k); at
    k = 0 a Brownian motion with drift (drift dt, noise^2 dt). Uhlenbeck & Ornstein (1930), "On the
    theory of the Brownian motion", Physical Review 36: the transition is exact for any dt, so one
    step of D days has the distribution of two of D/2 (and, without noise, the same value).
    """
    if reversion == 0:
        return m + drift * dt + noise * np.sqrt(dt) * eps
    k = reversion
    grown = -libm.expm1(-k * dt)  # 1 - e^{-k dt}, exact for small k dt
    sd = noise * np.sqrt(-libm.expm1(-2 * k * dt) / (2 * k))
    return m * (1.0 - grown) + (drift / k) * grown + sd * eps


class Battlefield:
    """The balance of power m: a mean-reverting walk with drift while the land war runs.

    While the momentum's front is open, m follows an Ornstein-Uhlenbeck process, dm = (drift -
    reversion m) dt + noise dW, advanced by its exact transition over each segment (see
    :func:`ou_transition`). While a truce closes that front the fighting does not move it; instead it
    moves linearly by the package's ``rebuild`` rate a day: the side free to mobilize, train and
    receive weapons during the pause recovers (Fearon 1995).
    """

    def __init__(self, spec: S.Momentum, space: OutcomeSpace, drawn: Draws, n: int) -> None:
        self.spec, self.space, self.drawn = spec, space, drawn
        self.front = space.fronts.index(spec.front)
        self.momentum = np.full(n, spec.initial, dtype=np.float64)
        self.n = n

    def advance(
        self, day: int, seg: np.ndarray, idx: np.ndarray, inforce: np.ndarray, dt: np.ndarray
    ) -> None:
        """Move the balance in worlds idx over dt days (segment seg of ``day``), under what is in force."""
        s, m = self.spec, self.momentum[idx]
        eps = draws(self.drawn, ("battlefield",), day, seg, idx, normal=True) if s.noise > 0 else 0.0
        fighting = ou_transition(m, dt, s.drift, s.reversion, s.noise, eps)
        paused = m + dt * self.space.rebuild[inforce]
        closed = self.space.closes[inforce, self.front]
        self.momentum[idx] = np.where(closed, paused, fighting)


class Truces:
    """Truces in force: each ends on its day unless extended, or earlier by a violation.

    A violation ends a truce with the scenario's daily probability, reduced by monitoring where the
    package provides it: Fortna (2004), *Peace Time: Cease-Fire Agreements and the Durability of
    Peace*, finds that monitoring and specific terms make ceasefires last.
    """

    def __init__(self, spec: S.Truce, space: OutcomeSpace, drawn: Draws, n: int) -> None:
        self.spec, self.space, self.drawn = spec, space, drawn
        self.end = np.full(n, np.inf)  # the time (days) the truce in force ends (inf: none in force)

    def violated(
        self, day: int, seg: np.ndarray, idx: np.ndarray, inforce: np.ndarray, dt: np.ndarray
    ) -> np.ndarray:
        """Mask over idx: the truce in force breaks down during these dt days, with probability
        1 - (1 - p)^dt for a daily probability p."""
        v = self.spec.violations
        if v.daily_probability == 0:
            return np.zeros(idx.size, dtype=bool)
        daily = np.where(
            self.space.monitored[inforce],
            v.daily_probability * (1 - v.monitoring_reduction),
            v.daily_probability,
        )
        luck = draws(self.drawn, ("violation",), day, seg, idx)
        return (self.space.truce[inforce] > 0) & (luck < within(daily, dt))

    def expiring(self, idx: np.ndarray, inforce: np.ndarray, now: np.ndarray) -> np.ndarray:
        """Mask over idx: the truce in force reaches its end by ``now``."""
        return (self.space.truce[inforce] > 0) & (self.end[idx] <= now)


class Events:
    """Scenario events: each may happen each day (from a given day, once or repeatedly); it shifts
    parties' daily war values or the balance of power, or (a leaders' call) reveals the parties'
    priorities and margins to the mediator."""

    def __init__(self, specs: dict[str, S.Event], drawn: Draws, n: int) -> None:
        self.ids, self.specs = list(specs), list(specs.values())
        self.drawn, self.n = drawn, n
        self.fired = np.zeros((len(self.specs), n), dtype=bool)

    def fire(
        self, day: int, seg: np.ndarray, idx: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> list[np.ndarray]:
        """For each event, the mask over idx of the worlds where it happens between start and end
        (a segment of ``day``), counting only the days from its ``from_day``."""
        out = []
        for e, (eid, ev) in enumerate(zip(self.ids, self.specs, strict=True)):
            days = np.maximum(end - np.maximum(start, ev.from_day), 0.0)
            if ev.daily_probability == 0 or not (days > 0).any():
                out.append(np.zeros(idx.size, dtype=bool))
                continue
            luck = draws(self.drawn, ("event", eid), day, seg, idx)
            hit = luck < within(ev.daily_probability, days)
            if ev.once:
                hit &= ~self.fired[e, idx]
            self.fired[e, idx[hit]] = True
            out.append(hit)
        return out


def daily_war_value(sc: S.Scenario, pid: str) -> float:
    """A party's daily value of the war on every front at the scenario's means and opening balance:
    the unit in which a stick on it is sized."""
    m0 = sc.dynamics.momentum.initial
    return float(sum(fv.mean + fv.momentum * m0 for fv in sc.parties[pid].war.values()))


def stick_size(sc: S.Scenario, lv: S.Lever) -> float:
    """How much one use of a stick lowers its target's daily value of the war, once phased in:
    ``strength`` times the size of that daily value."""
    return lv.strength * abs(daily_war_value(sc, lv.target))


class Levers:
    """Sticks and carrots applied by policy (always / on refusal / from a day, at most n times), in
    the war's units.

    A stick lowers the target's daily value of fighting on (sanctions, an aid pause) by a stated
    share of its daily value of the war (:func:`stick_size`), spread over the lever's fronts and
    phased in linearly over ``phase_in_days`` from each use, so the war it would keep running is
    worth less. A carrot (sanctions relief) is an option of an issue: packages holding it may be
    tabled only once it is offered, and its worth is the parties' values of that option, paid once
    with the package that holds it. Pressure is public. The article shows both sides of a lever: US
    aid to Kyiv paused, then resumed after Kyiv backed the ceasefire.
    """

    def __init__(self, specs: dict[str, S.Lever], parties: dict, space: OutcomeSpace, n: int) -> None:
        fronts = space.fronts
        self.ids, self.specs = list(specs), list(specs.values())
        self.targets = [parties[lv.target] for lv in self.specs]
        self.holders = [parties[lv.holder] for lv in self.specs]
        self.front_masks = [
            np.isin(fronts, lv.fronts) if lv.fronts else np.ones(len(fronts), bool) for lv in self.specs
        ]
        self.uses = np.zeros((len(self.specs), n), dtype=np.int32)
        sc = space.scenario
        # per front, per use, once phased in
        self.per_front = [
            stick_size(sc, lv) / m.sum() if lv.kind == "stick" else 0.0
            for lv, m in zip(self.specs, self.front_masks, strict=True)
        ]
        self.fired_at = [np.full((lv.max_uses, n), np.nan) for lv in self.specs]
        # (P,) packages holding each carrot's option: closed to the table until it is offered
        self.carrots = {j: space.holds(lv.option) for j, lv in enumerate(self.specs) if lv.kind == "carrot"}

    def locked(self, idx: np.ndarray) -> np.ndarray | None:
        """(r, P) packages that may not be tabled yet in worlds idx: those holding a carrot not yet
        offered there; None when the scenario has no carrot."""
        if not self.carrots:
            return None
        out = np.zeros((idx.size, len(next(iter(self.carrots.values())))), dtype=bool)
        for j, holds in self.carrots.items():
            out |= (self.uses[j, idx] == 0)[:, None] & holds[None, :]
        return out

    def phase(self, idx: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        """Apply to the targets in worlds idx the part of each stick's use that phases in between
        start and end (times, days)."""
        for j, lv in enumerate(self.specs):
            if lv.kind != "stick" or lv.phase_in_days == 0 or not self.uses[j, idx].any():
                continue
            ramp = float(lv.phase_in_days)
            t0 = self.fired_at[j][:, idx]  # (uses, r)
            done = np.clip((end - t0) / ramp, 0, 1) - np.clip((start - t0) / ramp, 0, 1)
            step = np.nansum(done, axis=0) * self.per_front[j]
            if step.any():
                cols = np.flatnonzero(self.front_masks[j])
                self.targets[j].shift[np.ix_(idx, cols)] -= step[:, None]

    def apply(
        self, idx: np.ndarray, day: np.ndarray, refused_last: dict[str, np.ndarray]
    ) -> list[np.ndarray]:
        """Fire every lever whose policy allows it; return per lever the mask over idx that fired.
        ``day`` (r,) is each world's time."""
        out = []
        for j, lv in enumerate(self.specs):
            ok = (self.uses[j, idx] < lv.max_uses) & (day >= lv.from_day) & (lv.strength > 0)
            fire = ok.copy()
            if lv.policy == "on_rejection":
                fire &= refused_last[lv.target][idx]
            if self.holders[j].player is not None:  # a person holding the lever decides when
                fire = self.holders[j].player.levers(j, idx, fire, ok)
            if fire.any():
                self.pull(j, idx[fire], day[fire])
            out.append(fire)
        return out

    def pull(self, j: int, rows: np.ndarray, day: np.ndarray) -> None:
        """Lever j is used in worlds ``rows`` at times ``day`` (also how a teacher pulls a lever): a
        stick starts lowering the target's daily value of fighting on its fronts (at once, or phased
        in); a carrot is offered, so packages holding its option may be tabled."""
        lv, target = self.specs[j], self.targets[j]
        need = int(self.uses[j, rows].max(initial=-1)) + 1 - self.fired_at[j].shape[0]
        if need > 0:  # a teacher may pull a lever more often than its policy would
            more = np.full((need, self.fired_at[j].shape[1]), np.nan)
            self.fired_at[j] = np.vstack([self.fired_at[j], more])
        self.fired_at[j][self.uses[j, rows], rows] = day
        self.uses[j, rows] += 1
        if lv.kind == "stick" and lv.phase_in_days == 0:
            cols = np.flatnonzero(self.front_masks[j])
            target.shift[np.ix_(rows, cols)] -= self.per_front[j]
