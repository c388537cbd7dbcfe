"""The negotiators: parties and the veto players who ratify for them.

Each agent holds its state as NumPy arrays over worlds (one possible world per row), so one model
plays R negotiations in lockstep. Methods take ``idx``, the rows concerned. A party's values of the
terms and of fighting on each front are drawn per world from the scenario's stated uncertainty.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import mesa
import numpy as np

from sim.engine import libm
from sim.engine.counters import best_for_self
from sim.engine.jit import kernel
from sim.engine.outcomes import OutcomeSpace
from sim.engine.valuation import Moment, Values, side_by_side, term_value, weigh
from sim.scenario import schema as S

Stream = Callable[..., np.random.Generator]
Rows = np.ndarray  # one value per world of idx


class Player(Protocol):
    """Takes a party's decisions in some worlds: each method gets the model's own answer over the
    worlds ``idx`` and returns the answer to use (changed only in the worlds it plays). ``levers``
    decides, for a lever the party holds, where it fires (``allowed``: within the scenario's limits)."""

    def respond(self, party: Party, idx: Rows, pkg: Rows, surplus: Rows, ok: Rows) -> Rows: ...

    def demand(self, party: Party, idx: Rows, pkg: Rows, best: Rows) -> Rows: ...

    def prefers(self, party: Party, idx: Rows, a: Rows, b: Rows, yes: Rows) -> Rows: ...

    def levers(self, lever: int, idx: Rows, fire: Rows, allowed: Rows) -> Rows: ...

    def counter(self, party: Party, idx: Rows, text: Rows, best: Rows) -> Rows: ...


def draw(rng: np.random.Generator, param: S.Uncertain, n: int, exact: bool = False) -> np.ndarray:
    """One value per world from the parameter's normal distribution (its mean when sd = 0 or exact)."""
    if param.sd == 0 or exact:
        return np.full(n, param.mean)
    return rng.normal(param.mean, param.sd, n)


def draw_weights(rng: np.random.Generator, mean: np.ndarray, concentration: float, n: int) -> np.ndarray:
    """Salience weights per world: Dirichlet around the stated weights (sum 1 in each row)."""
    if concentration == 0:
        return np.broadcast_to(mean, (n, mean.size)).copy()
    alpha = np.maximum(mean * concentration, 1e-9)
    g = rng.gamma(alpha, size=(n, mean.size))
    return g / g.sum(axis=1, keepdims=True)


def draw_option_values(rng: np.random.Generator, mean: np.ndarray, sd: float, n: int) -> np.ndarray:
    """(n, options) a party's value of each option per world: normal around the stated, within [0, 1]."""
    if sd == 0:
        return np.broadcast_to(mean, (n, mean.size)).copy()
    return np.clip(rng.normal(mean, sd, (n, mean.size)), 0.0, 1.0)


def draw_values(
    space: OutcomeSpace,
    spec: S.Party,
    stream: Stream,
    who: tuple[str, ...],
    n: int,
) -> Values:
    """A party's weighted option values and daily war values in n worlds, from the streams of
    ``who``."""
    sc = space.scenario
    u = sc.uncertainty
    terms = [space.issues[k] for k in space.term_ks]
    mean_w = np.array([spec.positions[i].weight for i in terms])
    conc = 0.0 if u.exact else u.weight_concentration
    weights = draw_weights(stream(*who, "weights"), mean_w, conc, n)
    sd = 0.0 if u.exact else u.value_sd
    values = [
        draw_option_values(
            stream(*who, "values", i),
            np.array([spec.positions[i].values[o] for o in sc.issues[i].options]),
            sd,
            n,
        )
        for i in terms
    ]
    weighted = weigh(weights, values)
    war = np.zeros((n, len(space.fronts)))
    slope = np.zeros(len(space.fronts))
    for f, front in enumerate(space.fronts):
        if front in spec.war:
            fv = spec.war[front]
            war[:, f] = draw(stream(*who, "war", front), fv, n, u.exact)
            slope[f] = fv.momentum
    return Values(weighted, space.interaction_vector(spec), war, slope)


def hurt(daily: np.ndarray, open_fronts: np.ndarray) -> np.ndarray:
    """(r,) how much a day of the war on the open fronts costs a party beyond what it yields."""
    return np.maximum(-(open_fronts * daily).sum(axis=1), 0.0)


@kernel
def hurt_sums(pain, j, by_world, war, slope, shift, rows, days, m, open_fronts):  # fmt: skip
    """Kernel of ``feel_war``: valuer j's pain in world ``rows[k]`` (``pain[rows[k], j]`` with
    ``by_world``, else ``pain[j, rows[k]]``) grows by ``days[k] * hurt`` of the daily values
    (war + shift) + m * slope on the open fronts, with ``daily`` and ``hurt``'s operations in
    their order (the fronts summed from 0, fewer than ``IN_ORDER``)."""
    for k in range(rows.size):
        r = rows[k]
        s = 0.0
        for f in range(slope.size):
            daily = war[r, f] + shift[r, f] + m[k] * slope[f]
            s += (1.0 if open_fronts[k, f] else 0.0) * daily
        h = -s
        if h < 0.0:  # np.maximum(-s, 0.0); a zero's sign is lost in the sum below
            h = 0.0
        add = days[k] * h
        if by_world:
            pain[r, j] += add
        else:
            pain[j, r] += add


@kernel
def hurt_every(pain, by_world, war, slope, shift, rows, days, m, open_fronts):  # fmt: skip
    """``hurt_sums`` of each of a group of n valuers, one after another (each cell is one valuer's,
    so the order does not matter): the parties, each its own pain (``pain`` (n, R)), or a believer,
    the pain it believes each party takes (``pain`` (R, n), ``by_world``); their tables side by
    side, ``war`` and ``shift`` (n, R, F), ``slope`` (n, F)."""
    for j in range(war.shape[0]):
        hurt_sums(pain, j, by_world, war[j], slope[j], shift[j], rows, days, m, open_fronts)


def resource_progress(pain: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """How much of its tolerance for the war's hurt a party has used up, in [0, 1)."""
    return 1.0 - libm.exp(-pain / tolerance)


def concession(progress: np.ndarray, inverse_beta: np.ndarray) -> np.ndarray:
    """The share of its opening margin a party has given up: progress ** (1 / beta).

    The polynomial tactic of Faratin, Sierra & Jennings (1998), "Negotiation decision functions for
    autonomous agents", Robotics and Autonomous Systems 24: beta < 1 is Boulware (holds firm until
    its resource is nearly spent), beta > 1 is Conceder. Here the resource is the party's tolerance
    for the war's hurt (their resource-dependent tactics), not a deadline, unless the scenario
    declares one.
    """
    return libm.power(progress, inverse_beta)


def days_of(day: np.ndarray | float, idx: np.ndarray) -> np.ndarray:
    """The times ``day`` as one float per world of ``idx`` (a contiguous array, as kernels take it)."""
    day = np.asarray(day, dtype=np.float64)
    return day if day.shape == np.shape(idx) else np.ascontiguousarray(np.broadcast_to(day, np.shape(idx)))


@kernel
def aspirations(pain, tolerance, margin0, inverse_beta, rows, day, deadline):  # fmt: skip
    """Kernel of ``Party.margin``: in world ``rows[k]``, the opening margin less its share given
    up, ``concession(progress)``, the progress ``resource_progress`` (and, with a ``deadline`` > 0,
    the time's share of it as well), with the readable path's operations in their order and the C
    library's exp and pow (``sim.engine.libm``)."""
    out = np.empty(rows.size)
    for k in range(rows.size):
        r = rows[k]
        progress = 1.0 - math.exp(-pain[r] / tolerance[r])
        if deadline > 0.0:
            progress = 1.0 - (1.0 - progress) * (1.0 - min(day[k] / deadline, 1.0))
        out[k] = margin0[r] * (1.0 - math.pow(progress, inverse_beta[r]))
    return out


@kernel
def believed_aspirations(pain, tolerance, margin, inverse_beta, offset, rows, day, deadline):  # fmt: skip
    """Kernel of ``Beliefs.believed_margin`` (before what a leaders' call told): (r, n) in world
    ``rows[k]`` each party's mean margin less its believed concession (``aspirations``' steps on the
    believed pain ``pain[r, i]`` and the party's mean tolerance and tactic), plus the learnt
    ``offset[r, i]``."""
    n = tolerance.size
    out = np.empty((rows.size, n))
    for k in range(rows.size):
        r = rows[k]
        for i in range(n):
            progress = 1.0 - math.exp(-pain[r, i] / tolerance[i])
            if deadline > 0.0:
                progress = 1.0 - (1.0 - progress) * (1.0 - min(day[k] / deadline, 1.0))
            out[k, i] = margin[i] * (1.0 - math.pow(progress, inverse_beta[i])) + offset[r, i]
    return out


class Party(mesa.Agent):
    """A negotiating party: it values a package by its terms plus the war it leaves running.

    It accepts a text that beats what is in force by its current aspiration margin and crosses no
    red line. The margin shrinks as the war's hurt accumulates on the fronts that cost it more than
    they yield: the mutually hurting stalemate that makes a conflict ripe (Zartman 2000, "Ripeness:
    the hurting stalemate and beyond"). Pressure (sticks lower its daily value of fighting on) and
    events move its alternative; a carrot is an option of a package, valued as its terms are.
    """

    def __init__(self, model: mesa.Model, pid: str, spec: S.Party) -> None:
        super().__init__(model)
        space, n, stream = model.space, model.replications, model.stream
        exact = model.spec.uncertainty.exact
        self.pid, self.spec = pid, spec
        self.red, self.required = space.memo(
            f"party:{pid}", lambda: (space.red_line_mask(spec), space.required_mask(spec))
        )
        self.values = draw_values(space, spec, stream, ("party", pid), n)
        self.margin0 = np.maximum(draw(stream("party", pid, "margin"), spec.margin, n, exact), 0.0)
        self.tolerance = np.maximum(draw(stream("party", pid, "tolerance"), spec.tolerance, n, exact), 1e-9)
        beta = np.maximum(draw(stream("party", pid, "concession"), spec.concession, n, exact), 0.05)
        self.inverse_beta = 1.0 / beta
        self.pain = np.zeros(n)
        self.shift = np.zeros((n, len(space.fronts)))  # pressure on its daily value of each front
        # A player (a person at a terminal, sim.teaching.play) may take this party's decisions in
        # some worlds: it sees the model's own answer and returns its own.
        self.player: Player | None = None
        # Beliefs of the others, held only by a party that may table counters (NegotiationModel).
        self.beliefs = None

    def margin(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The surplus over what is in force that the party asks for at times day (r,), in worlds idx."""
        deadline = self.model.spec.calendar.deadline_day
        if self.compiled:  # the same steps, world by world
            return aspirations(
                self.pain, self.tolerance, self.margin0, self.inverse_beta, np.asarray(idx, dtype=np.int64),
                days_of(day, idx), 0.0 if deadline is None else float(deadline),
            )  # fmt: skip
        progress = resource_progress(self.pain[idx], self.tolerance[idx])
        if deadline is not None:  # a declared deadline: time-dependent tactic as well (Faratin et al.)
            progress = 1.0 - (1.0 - progress) * (1.0 - np.minimum(day / deadline, 1.0))
        return self.margin0[idx] * (1.0 - concession(progress, self.inverse_beta[idx]))

    def feel_war(self, idx: np.ndarray, days: np.ndarray, m: np.ndarray, open_fronts: np.ndarray) -> None:
        """Add the hurt of ``days`` (r,) of the war on the open fronts (r, F), where as a whole it costs
        the party more than it yields; a party gaining by the war feels none. (The readable face:
        compiled, the model adds every valuer's hurt by ``hurt_every``.)"""
        self.pain[idx] += days * hurt(self.values.daily(idx, m, self.shift[idx]), open_fronts)

    def respond(self, idx: np.ndarray, pkg: np.ndarray, surplus: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Accept where the text beats what is in force by the margin and crosses no red line."""
        ok = (surplus >= self.margin(idx, day)) & (surplus > 0) & ~self.red[pkg]
        return ok if self.player is None else self.player.respond(self, idx, pkg, surplus, ok)

    def demand(self, idx: np.ndarray, pkg: np.ndarray, moment: Moment | None = None) -> np.ndarray:
        """The single-issue change to the text the party values most (a move index), or -1
        (``moment``: the model's ``moment_at(idx)``, when already computed)."""
        space = self.model.space
        nb = space.neighbours[pkg]  # (r, M)
        both = self.model.surplus(self.values, self, idx, np.concatenate([nb, pkg[:, None]], axis=1), moment)
        u, here = both[:, :-1], both[:, -1:]  # each neighbour's surplus and the text's, in one call
        u = np.where(space.valid[nb] & ~self.red[nb], u, -np.inf)
        best = np.argmax(u, axis=1)
        gain = u[np.arange(best.size), best] - here[:, 0]
        best = np.where(gain > 1e-12, best, -1)
        return best if self.player is None else self.player.demand(self, idx, pkg, best)

    BLOCK = 4096  # worlds solved at once
    compiled = True  # False: the readable array path (the reference the kernel must match)

    def counter(
        self, idx: np.ndarray, text: np.ndarray, day: np.ndarray, moment: Moment | None = None
    ) -> np.ndarray:
        """After refusing ``text`` (r,): the package the party tables in worlds idx, or -1.

        The package it values most among those it would accept itself (surplus over what is in force
        at least its margin, and positive) and believes every other party whose consent the package
        needs would accept (believed surplus above believed margin), among the negotiable extensions
        of what is in force (sim.engine.counters). Compiled, each world scans only its own
        extensions (``counter_pick``); the readable path (``counter_arrays``) evaluates a block of
        worlds on the union of their extensions, with the same rule and tie-break.
        """
        out = self.counter_arrays(idx, day) if not self.compiled else self.counter_compiled(idx, day, moment)
        return out if self.player is None else self.player.counter(self, idx, text, out)

    def counter_compiled(self, idx: np.ndarray, day: np.ndarray, moment: Moment | None = None) -> np.ndarray:
        model, space, beliefs = self.model, self.model.space, self.beliefs
        me = model.index[self.pid]
        others = space.memo("required:parties", lambda: np.array([p.required for p in model.parties]))
        locked = model.levers.locked(idx)
        return counter_pick(
            idx,
            model.inforce[idx],
            me,
            space.memo("packages:int64", lambda: space.packages.astype(np.int64)),
            space.negotiable,
            np.zeros((0, 0), dtype=bool) if locked is None else np.ascontiguousarray(locked),
            self.red,
            others,
            space.truce,
            space.rebuild,
            *side_by_side(beliefs.est, "weighted", "inter"),
            space.term_columns,
            space.tied_terms,
            *model.stacked_coefficients(beliefs.est, idx, None, moment),
            self.margin(idx, day),
            beliefs.believed_margin(idx, day),
        )

    def counter_arrays(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """``counter`` as array operations over blocks of worlds (the reference path)."""
        space, me = self.model.space, self.model.index[self.pid]
        out = np.full(idx.size, -1, dtype=np.int64)
        others = np.array([p.required for p in self.model.parties])
        others[me] = False
        for a in range(0, idx.size, self.BLOCK):
            rows, when = idx[a : a + self.BLOCK], day[a : a + self.BLOCK]
            inforce = self.model.inforce[rows]
            allowed = space.negotiable[None, :] & space.extends(inforce)
            allowed[np.arange(rows.size), inforce] = False
            locked = self.model.levers.locked(rows)
            if locked is not None:
                allowed &= ~locked
            cols = np.flatnonzero(allowed.any(axis=0))
            if cols.size == 0:
                continue
            est = self.beliefs.estimate(rows, cols)  # (r, n, C); its own column is its true surplus
            own = est[:, me]
            believed = est - self.beliefs.believed_margin(rows, when)[:, :, None]
            theirs = np.where(others[None, :, cols], believed > 0, True).all(axis=1)
            mine = (own >= self.margin(rows, when)[:, None]) & (own > 0) & ~self.red[cols][None]
            pick = best_for_self(own, allowed[:, cols] & mine & theirs)
            out[a : a + self.BLOCK] = np.where(pick >= 0, cols[np.maximum(pick, 0)], -1)
        return out

    def prefers(
        self, idx: np.ndarray, a: np.ndarray, b: np.ndarray, fresh: bool = False, u: np.ndarray | None = None
    ) -> np.ndarray:
        """Whether the party values package a (r,) above package b (r,) as things stand (with
        ``fresh``, a's truce valued as if it started now: an extension). ``u`` (r, 2): its values
        of a and b, when the model has valued them for every party at once (``values_of``)."""
        if u is None:
            u = self.model.value(self.values, self, idx, np.stack([a, b], axis=1), fresh=fresh)
        yes = u[:, 0] > u[:, 1]
        return yes if self.player is None else self.player.prefers(self, idx, a, b, yes)


class VetoPlayer(mesa.Agent):
    """A domestic constituency whose party must bring the deal home.

    Putnam (1988), "Diplomacy and domestic politics: the logic of two-level games", International
    Organization 42(3): an agreement at the table (level I) must be ratified at home (level II). The
    constituency ratifies with a probability that rises with its own surplus of the deal over what
    is in force: logistic((s_h - threshold) / slope), valuing terms with its own salience (and own
    option values where given) and counting ``war_weight`` of the war's part.
    """

    def __init__(self, model: mesa.Model, party: Party, spec: S.VetoPlayer) -> None:
        super().__init__(model)
        self.party, self.spec = party, spec
        space, n, stream = model.space, model.replications, model.stream
        sc = model.spec
        own = party.spec.model_copy(
            update={
                "positions": {
                    i: pos.model_copy(
                        update={"weight": spec.weights.get(i, 0.0), "values": spec.values.get(i, pos.values)}
                    )
                    for i, pos in party.spec.positions.items()
                }
            }
        )
        values = draw_values(space, own, stream, ("veto", party.pid), n)
        # The war is the party's own: the same daily values in each world, counted by war_weight.
        self.values = Values(
            values.weighted, values.inter, party.values.war, party.values.slope, spec.war_weight
        )
        self.threshold = draw(stream("veto", party.pid, "threshold"), spec.threshold, n, sc.uncertainty.exact)

    def probability(self, idx: np.ndarray, pkg: np.ndarray, moment: Moment | None = None) -> np.ndarray:
        s = self.model.surplus(self.values, self.party, idx, pkg[:, None], moment)[:, 0]
        z = (s - self.threshold[idx]) / self.spec.slope
        return 1.0 / (1.0 + libm.exp(-np.clip(z, -500, 500)))

    def ratify(
        self, idx: np.ndarray, pkg: np.ndarray, luck: np.ndarray, moment: Moment | None = None
    ) -> np.ndarray:
        """True where the constituency lets the deal stand, given uniform draws ``luck``."""
        return luck < self.probability(idx, pkg, moment)


@kernel
def counter_pick(
    rows, inforce, me, packages, negotiable, locked, red, required, truce, rebuild,
    weighted, inter, columns, tied, frac, const, per_rebuild, margin, believed_margin,
):  # fmt: skip
    """Kernel of ``Party.counter`` for party ``me``: in each world k (``rows[k]`` of the tables),
    the package with the largest own surplus among that world's negotiable extensions of
    ``inforce[k]`` (not it, not ``locked[k]`` when given) that the party would accept (own surplus
    at least ``margin[k]`` and positive, no red line of its own) and believes every other party
    whose consent it needs would accept (estimated surplus above ``believed_margin[k, i]``); the
    lower index on a tie, -1 if none.

    ``weighted`` (n, R, J), ``inter`` (n, P): each party's weighted option values and
    interactions as the party believes them (its own the true ones), side by side, summed per
    package by ``term_value`` over ``columns`` and ``tied``; ``frac`` (r, O), ``const`` and
    ``per_rebuild`` (r, n, O) their per-option coefficients (``Values.coefficients``). A surplus is
    the value less the value of what is in force, both summed as ``Values.at`` sums them, so the
    bits are the array path's.
    """
    n, n_pkgs, n_issues = len(weighted), packages.shape[0], packages.shape[1]
    out = np.full(rows.size, -1, dtype=np.int64)
    here_value = np.empty(n)
    has_locks = locked.shape[0] > 0
    cand, digit = np.empty(n_pkgs, dtype=np.int64), np.empty(n_issues, dtype=np.int64)
    for k in range(rows.size):
        row, here = rows[k], inforce[k]
        o = truce[here]
        for i in range(n):
            perm, held = term_value(weighted[i], inter[i], columns, tied, row, here)
            here_value[i] = perm + frac[k, o] * held + const[k, i, o] + per_rebuild[k, i, o] * rebuild[here]
        best, best_own = -1, 0.0
        for c in range(extensions(packages, negotiable, here, digit, cand)):  # nothing banked is dropped
            p = cand[c]
            if red[p] or (has_locks and locked[k, p]):
                continue
            o = truce[p]
            perm, held = term_value(weighted[me], inter[me], columns, tied, row, p)
            own = (
                perm + frac[k, o] * held + const[k, me, o] + per_rebuild[k, me, o] * rebuild[p]
            ) - here_value[me]
            if not (own >= margin[k] and own > 0) or (best >= 0 and not own > best_own):
                continue
            theirs = True
            for i in range(n):
                if i == me or not required[i, p]:
                    continue
                perm, held = term_value(weighted[i], inter[i], columns, tied, row, p)
                s = (
                    perm + frac[k, o] * held + const[k, i, o] + per_rebuild[k, i, o] * rebuild[p]
                ) - here_value[i]
                if not (s - believed_margin[k, i] > 0):
                    theirs = False
                    break
            if theirs:
                best, best_own = p, own
        out[k] = best
    return out


@kernel
def extensions(packages, negotiable, here, digit, cand):  # fmt: skip
    """Into ``cand``: every negotiable package other than ``here`` that keeps each option of
    ``here`` or raises it, in increasing index; their count (``digit`` (K,): scratch).

    ``packages`` is the row-major grid of every issue's options (``OutcomeSpace``: the last issue
    fastest, the last package every issue's last option), so the extensions are counted up issue
    by issue from here's options, the last issue fastest, which is the order of the index: the
    packages a scan of all would keep, in the same order, without visiting the others."""
    n_issues, last = packages.shape[1], packages.shape[0] - 1
    for j in range(n_issues):
        digit[j] = packages[here, j]
    p, count = here, 0
    while True:
        if p != here and negotiable[p]:
            cand[count] = p
            count += 1
        j, stride = n_issues - 1, 1
        while j >= 0 and digit[j] == packages[last, j]:  # carry: back to here's option
            p -= (digit[j] - packages[here, j]) * stride
            digit[j] = packages[here, j]
            stride *= packages[last, j] + 1
            j -= 1
        if j < 0:
            return count
        digit[j] += 1
        p += stride


def warm_up() -> None:
    """Compile (or load) this module's kernels on a one-package table: one version for any number
    of parties (their tables side by side, ``sim.engine.valuation.side_by_side``)."""
    world, one, no = np.zeros(1, dtype=np.int64), np.zeros((1, 1)), np.zeros(1, dtype=np.bool_)
    three = np.zeros((1, 1, 1))
    # (``hurt_sums`` is compiled inside ``hurt_every``, where the engine runs it)
    no_front = np.zeros((1, 1), dtype=np.bool_)
    hurt_every(one, False, three, one, three, world, np.zeros(1), np.zeros(1), no_front)
    aspirations(np.ones(1), np.ones(1), np.ones(1), np.ones(1), world, np.zeros(1), 0.0)
    believed_aspirations(
        np.ones((1, 2)), np.ones(2), np.ones(2), np.ones(2), np.zeros((1, 2)), world, np.zeros(1), 0.0
    )
    cols = np.zeros((1, 1), dtype=np.int64)
    counter_pick(
        world, world, 0, cols, no, np.zeros((0, 0), dtype=np.bool_), no, np.zeros((1, 1), dtype=np.bool_),
        world, np.zeros(1), three, one, cols, no, one, three, three, np.zeros(1), one,
    )  # fmt: skip
