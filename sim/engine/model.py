"""NegotiationModel: a mediated multi-party negotiation, run as an ensemble of worlds.

**One clock, in days.** ``model.time`` is Mesa's clock and counts days from ``calendar.start``; one
``step()`` is one day. Everything that is a duration is counted in days: the war's hurt and the
parties' patience, the balance of power, truce clocks and violations, events, lever schedules,
deadlines and the mediator's give-up rule. So the outcome has a limit as contacts get more frequent
(Binmore, Rubinstein & Wolinsky 1986, "The Nash bargaining solution in economic modelling", RAND
Journal of Economics 17: the alternating-offers equilibrium tends to the Nash solution as the time
between offers shrinks) instead of following the length of a round.

**Contacts are events.** In each world the contacts (an envoy's visit, a call) form a renewal
process: the first on day 0, then gamma-distributed intervals with the scenario's mean and standard
deviation (sd 0: regular), the n-th interval of world j drawn from the stream of (contact, n) filled
for every world. At a contact:

1. **Levers.** Sticks and carrots fire by policy.
2. **Proposal.** The opening text at the first contact, then the mediator's revisions of the single text.
3. **Responses.** Each party whose consent the text needs accepts or refuses (naming a demand).
4. **Ratification.** Each capital's veto player ratifies or not.
5. **Banking.** A ratified text is in force from then on; talks go on over the rest.

**Between contacts the world moves.** Each world is advanced exactly over the elapsed time from
one of its moments to the next: the end of a day, a contact, or the end of a truce (an event at its
own time, so a truce ends on its day, not at the next contact). Over a segment the fronts left open
hurt each party (by the hurt at the segment's start, at most a day), the balance of power follows
its exact transition, events and violations happen with 1 - (1 - p)^days; at a truce's end it is
extended if every party whose consent it needs prefers that to its lapse.

**Why a daily lockstep, not one Mesa event per contact.** The ensemble holds R worlds as arrays, and
their contacts fall at R different times: one Mesa event per contact would cost a Python call per
world and contact and undo the arrays. Instead Mesa's clock steps day by day (``run_until``), and
inside a day every world takes its own moments in order, the worlds that have one acting together as
one array operation per round of moments. Two contacts of one world inside one day are both taken,
in order, never merged; fractional times are kept for the outputs' dates and times. Random draws are
keyed by purpose, day and the world's own segment of that day, filled for all R worlds and indexed
by world, so a world's draws never depend on which other worlds are talking or when they meet.

Each of the R replications is one possible world drawn from the scenario's uncertainty; agents hold
their state as arrays over worlds. A world's outcome is what is in force at the horizon, with its
history. ``replications=1`` is the readable single run.
"""

from __future__ import annotations

import zlib
from typing import Any

import mesa
import numpy as np

from sim.engine.beliefs import Beliefs
from sim.engine.counters import zeuthen
from sim.engine.dynamics import Battlefield, Draws, Events, Levers, Truces, present
from sim.engine.mediator import Mediator
from sim.engine.outcomes import STATUS_QUO, OutcomeSpace
from sim.engine.parties import Party, VetoPlayer, hurt_every
from sim.engine.valuation import (
    IN_ORDER,
    ExpectedPath,
    Moment,
    Values,
    coefficients_of,
    hold_side_by_side,
    surpluses_at,
    taken,
    truce_lengths,
)
from sim.scenario.schema import Scenario

EVENTS = ("banked", "extended", "lapsed", "violated", "vetoed", "gave_up")
MINUTE = 1.0 / 1440.0  # days


class NegotiationModel(mesa.Model):
    """Mediated negotiation over ``replications`` worlds, followed to the scenario's horizon.

    Args:
        scenario: a validated scenario (``sim.load_scenario``).
        replications: number of worlds played together.
        rng: seed or ``numpy.random.Generator``; fixes every number.
        trace: index of one world whose moments (contacts, events) are recorded in ``self.transcript``.
        space: a precompiled outcome space of this scenario, shared between chunks.

    Every kind of draw has its own random stream derived from ``rng``'s seed (and, for what happens
    during the talks, the day and segment, or the world's contact count), filled world by world:
    world j is the same world however many worlds are played, whoever else is talking, and whatever
    the horizon.
    """

    def __init__(
        self,
        scenario: Scenario,
        replications: int = 1,
        rng: Any = None,
        trace: int | None = None,
        space: OutcomeSpace | None = None,
    ) -> None:
        super().__init__(rng=rng)
        self.spec = sc = scenario
        self.replications = R = int(replications)
        self.space = space if space is not None else OutcomeSpace(scenario)
        self.window = sc.valuation.window_days
        self.clock = np.zeros(R)  # the time (days) each world has been advanced to
        self.next_contact = np.zeros(R)  # the first contact is on day 0
        self.held = np.zeros(R, dtype=np.int64)  # contacts held so far
        self.seg = np.zeros(R, dtype=np.int64)  # segments of today so far, per world
        self._intervals: dict[int, np.ndarray] = {}
        self.inforce = np.full(R, STATUS_QUO, dtype=np.int64)
        self.parties = [Party(self, pid, p) for pid, p in sc.parties.items()]
        # every party's tables side by side (n, ...), as the kernels take a group of valuers
        self.tables = hold_side_by_side(
            self.parties, ("pain", "tolerance", "margin0", "inverse_beta", "shift")
        ) | hold_side_by_side([p.values for p in self.parties], ("weighted", "inter", "war", "slope"))
        self.party = {p.pid: p for p in self.parties}
        self.index = {p.pid: i for i, p in enumerate(self.parties)}
        self.vetoes = [VetoPlayer(self, p, p.spec.veto) for p in self.parties if p.spec.veto]
        self.mediator = Mediator(self, sc.mediator)
        for i, p in enumerate(self.parties):  # a party that may counter learns the others' asks
            if p.spec.tables_counters:
                p.beliefs = Beliefs(self, ("belief", p.pid), sc.mediator.learning_step, False, own=i)
        self.believers = [p.beliefs for p in self.parties if p.beliefs is not None]
        self.opening = self.space.index(sc.opening.package) if sc.opening else None
        self.drawn = Draws(self.stream, R)  # each stream's draws for every world, made once
        self.battlefield = Battlefield(sc.dynamics.momentum, self.space, self.drawn, R)
        self.truces = Truces(sc.truce, self.space, self.drawn, R)
        self.events = Events(sc.events, self.drawn, R)
        self.levers = Levers(sc.levers, self.party, self.space, R)

        n, T = len(self.parties), sc.days
        self.refused_last = {p.pid: np.zeros(R, dtype=bool) for p in self.parties}
        self.class_by_day = np.zeros((R, T), dtype=np.int16)
        self.first_day = np.full(R, np.nan)  # the time of the first banked agreement (nan: none)
        self.counts = {kind: np.zeros(R, dtype=np.int16) for kind in EVENTS}
        self.gain = np.full((R, n), np.nan)
        self.first_demand = np.full((R, n), -1, dtype=np.int16)
        self.history: list[tuple[np.ndarray, np.ndarray, str, np.ndarray]] = []
        self.history_by: list[np.ndarray] = []  # beside each history entry: who tabled its text
        self.text_by = np.full(R, -1, dtype=np.int64)  # who tabled the text being answered (-1: mediator)
        # a counter the mediator carries to the next contact (shuttle diplomacy), and who tabled it
        self.carried = np.full(R, -1, dtype=np.int64)
        self.carried_by = np.full(R, -1, dtype=np.int64)
        self.inforce_by = np.full(R, -1, dtype=np.int64)  # who tabled what is in force
        self.trace_row = trace
        self.transcript: list[dict[str, Any]] = []
        self._entry: dict[str, Any] = {}
        self._day_end: dict[str, np.ndarray] = {}  # what the day's reporters share
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self.running = T > 0

    def stream(self, *purpose: Any) -> np.random.Generator:
        """The random stream of one kind of draw, derived from this model's seed and the purpose."""
        seq = self.rng.bit_generator.seed_seq
        key = zlib.crc32("/".join(map(str, purpose)).encode())
        return np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, key)))

    # ------------------------------------------------------------------ valuation

    def truce_days(self, idx: np.ndarray, fresh: bool = False) -> np.ndarray:
        """(r, O) how long a truce of each option would run from now: what is left of the truce in
        force for its own option (unless ``fresh``), the full duration for another, 0 for none."""
        n_options = len(self.space.options[self.space.truce_k])
        if Values.compiled:  # the same rule, world by world
            return truce_lengths(
                np.asarray(idx, dtype=np.int64), self.inforce, self.space.truce, self.truces.end, self.clock,
                n_options, float(self.spec.truce.days), fresh,
            )  # fmt: skip
        days = np.full((idx.size, n_options), float(self.spec.truce.days))
        days[:, 0] = 0.0
        if not fresh:
            current = self.space.truce[self.inforce[idx]]
            left = np.maximum(self.truces.end[idx] - self.clock[idx], 0.0)
            rows = np.flatnonzero(current > 0)
            days[rows, current[rows]] = left[rows]
        return days

    def value(
        self, values: Values, party: Party, idx: np.ndarray, pkgs: np.ndarray | None, fresh: bool = False
    ) -> np.ndarray:
        """(r, C) value of packages (r, C; None: all) for a valuer, under the pressure on its party
        (``Values.of``, its coefficients from ``coefficients_of`` as every valuer's are)."""
        m, path = self.moment_at(idx, fresh)
        frac, const, per = coefficients_of([values], [party], self.space, idx, m, path, self.window)
        return values.at(self.space, idx, pkgs, (frac, const[:, 0], per[:, 0]))

    def values_of(
        self, parties: list[Party], idx: np.ndarray, pkgs: np.ndarray, fresh: bool = False
    ) -> np.ndarray:
        """(r, n, C) ``value`` of packages (r, C) for each party, at one moment: the expected path
        and every party's coefficients computed once for all of them."""
        m, path = self.moment_at(idx, fresh)
        frac, const, per = coefficients_of(
            [p.values for p in parties], parties, self.space, idx, m, path, self.window
        )
        return np.stack(
            [
                p.values.at(
                    self.space, idx, pkgs, (frac, *map(np.ascontiguousarray, (const[:, i], per[:, i])))
                )
                for i, p in enumerate(parties)
            ],
            axis=1,
        )

    def moment_at(self, idx: np.ndarray, fresh: bool = False) -> Moment:
        """The balance now in worlds idx and its expected path for a truce of each option
        (``truce_days``): what every valuer's coefficients share at one moment."""
        m = self.battlefield.momentum[idx]
        return m, ExpectedPath.of(self.space, self.truce_days(idx, fresh), m, self.window)

    def surplus(
        self,
        values: Values,
        party: Party,
        idx: np.ndarray,
        pkgs: np.ndarray | None,
        moment: Moment | None = None,
    ) -> np.ndarray:
        """(r, C) value of packages (r, C; (C,) in every world; None: all) over what is in force (a
        carrot is an option of a package: its worth is in the terms, counted once)."""
        return self.surpluses([values], [party], idx, pkgs, moment)[:, 0]

    def surpluses(
        self,
        values: list[Values],
        parties: list[Party],
        idx: np.ndarray,
        pkgs: np.ndarray | None,
        moment: Moment | None = None,
    ) -> np.ndarray:
        """(r, n, C) ``surplus`` of each valuer (with the pressure on its party), at one moment: the
        expected path of the balance is the same for all of them, so it is computed once (or given:
        ``moment_at(idx)``)."""
        coefs = self.stacked_coefficients(values, idx, parties, moment)
        return surpluses_at(values, self.space, idx, pkgs, self.inforce[idx], coefs)

    def stacked_coefficients(
        self,
        values: list[Values],
        idx: np.ndarray,
        parties: list[Party] | None = None,
        moment: Moment | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``coefficients`` of each valuer (under the pressure on its party; by default one valuer
        per party), as the kernels take them: the share of the window (r, O), and the constants and
        rebuild values stacked by valuer (r, n, O), on the expected path they share (computed once,
        unless given: ``moment_at(idx)``)."""
        m, path = self.moment_at(idx) if moment is None else moment
        parties = self.parties if parties is None else parties
        return coefficients_of(values, parties, self.space, idx, m, path, self.window)

    # ------------------------------------------------------------------ one day

    def step(self) -> None:
        """One day on Mesa's clock: every world takes its moments of the day in order (truce ends
        and contacts), then is advanced to the day's end, where what is in force is recorded."""
        day = round(self.time)
        self.seg[:] = 0
        while True:
            # a truce's end is a moment of its own, ahead of the world's clock
            ends = self.truces.end
            ends = np.where((self.space.truce[self.inforce] > 0) & (ends > self.clock), ends, np.inf)
            moment = np.minimum(self.next_contact, ends)
            rows = np.flatnonzero(moment <= day)
            if rows.size == 0:
                break
            t = moment[rows]
            self._open_entry(rows, t)
            self.advance(day, rows, t)
            due = self.truces.expiring(rows, self.inforce[rows], t)
            if due.any():
                self.expire(rows[due])
            meet = rows[self.next_contact[rows] <= t]
            if meet.size:
                self.contact(meet)
            self._close_entry()
        everyone = np.arange(self.replications)
        self._open_entry(everyone, np.full(self.replications, float(day)))
        self.advance(day, everyone, np.full(self.replications, float(day)))
        self._close_entry()
        self.class_by_day[:, day - 1] = self.space.package_class[self.inforce]
        self._day_end = {}
        self._forget_draws()
        self.datacollector.collect(self)
        self.running = day < self.spec.days

    def advance(self, day: int, rows: np.ndarray, t: np.ndarray) -> None:
        """Advance worlds rows from their clock to times t (a segment of ``day``): the war hurts on
        the open fronts; the balance moves; events happen; a truce in force may be violated."""
        dt = t - self.clock[rows]
        go = dt > 0
        rows, dt, t = rows[go], dt[go], t[go]
        if rows.size == 0:
            return
        seg, start = self.seg[rows].copy(), self.clock[rows].copy()
        self.seg[rows] += 1
        inforce = self.inforce[rows]
        open_fronts = ~self.space.closes[inforce]
        m = self.battlefield.momentum[rows]
        self.feel_war(rows, dt, m, open_fronts)
        self.battlefield.advance(day, seg, rows, inforce, dt)
        self.levers.phase(rows, start, t)
        self.clock[rows] = t
        self.happen(day, seg, rows, start, t)
        broken = self.truces.violated(day, seg, rows, inforce, dt)
        self.lapse(rows[broken], "violated")
        if self.trace_row is not None and self._where(rows) is not None:
            self._entry["momentum"] = float(self.battlefield.momentum[self.trace_row])

    def feel_war(self, rows: np.ndarray, dt: np.ndarray, m: np.ndarray, open_fronts: np.ndarray) -> None:
        """Every party feels the war's hurt, and every believer tracks the hurt it believes each party
        takes: compiled, one call per group of valuers (``hurt_every``); else each agent's
        ``feel_war``. Order does not matter: each adds to its own tables, and all take the same war's
        measure."""
        if Party.compiled and len(self.space.fronts) < IN_ORDER:
            # a call per group of valuers (the parties, each believer): each group's tables side by
            # side, the pain it adds to held as one array (written in place)
            shift = self.tables["shift"]
            hurt_every(
                self.tables["pain"], False, self.tables["war"], self.tables["slope"], shift, rows, dt, m,
                open_fronts,
            )  # fmt: skip
            for b in (self.mediator.beliefs, *self.believers):
                hurt_every(
                    b.pain_hat, True, b.tables["war"], b.tables["slope"], shift, rows, dt, m, open_fronts
                )  # fmt: skip
            return
        self.agents_by_type[Party].do("feel_war", rows, dt, m, open_fronts)
        self.mediator.feel_war(rows, dt, m, open_fronts)
        for beliefs in self.believers:
            beliefs.feel_war(rows, dt, m, open_fronts)

    def happen(self, day: int, seg: np.ndarray, idx: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        hits = self.events.fire(day, seg, idx, start, end)
        for eid, hit in zip(self.events.ids, hits, strict=True):
            if hit.any():
                self.inject(eid, idx[hit])

    def inject(self, eid: str, rows: np.ndarray) -> None:
        """Event ``eid`` happens in worlds ``rows``: it shifts daily war values or the balance of
        power, or reveals the parties to the mediator (also how a teacher injects an event)."""
        ev = self.spec.events[eid]
        for pid, shift in ev.war_shift.items():
            self.party[pid].shift[rows] += shift
        self.battlefield.momentum[rows] += ev.momentum_shift
        if ev.reveal:
            self.mediator.reveal(rows)
        self.events.fired[self.events.ids.index(eid), rows] = True  # a one-off event has happened
        self._note(rows, "events", eid)

    def schedule(self, rows: np.ndarray) -> None:
        """The next contact of worlds rows: the renewal process's next interval, gamma-distributed
        with the scenario's mean and sd (the n-th interval of world j from the stream (contact, n))."""
        c = self.spec.calendar.contacts
        n = self.held[rows]
        gap = np.full(rows.size, float(c.mean_interval_days))
        if c.sd_days > 0:
            shape, scale = (c.mean_interval_days / c.sd_days) ** 2, c.sd_days**2 / c.mean_interval_days
            for k in present(n):
                if int(k) not in self._intervals:
                    g = self.stream("contact", int(k)).standard_gamma(shape, self.replications)
                    self._intervals[int(k)] = g * scale
                sel = n == k
                gap[sel] = self._intervals[int(k)][rows[sel]]
        # A minute apart at least: two contacts are never at one instant.
        self.next_contact[rows] = self.clock[rows] + np.maximum(gap, MINUTE)

    def contact(self, rows: np.ndarray) -> None:
        """A contact in worlds rows (each at its own time): levers, a text, answers, ratification."""
        self.held[rows] += 1
        first = self.held[rows] == 1
        self.schedule(rows)
        talks, first = rows[self.mediator.talking[rows]], first[self.mediator.talking[rows]]
        if talks.size == 0:
            return
        fired = self.levers.apply(talks, self.clock[talks], self.refused_last)
        self._note_levers(talks, fired)
        here = self.moment_at(talks)  # what the text, the answers and the ratification value on
        pkg = self.propose(talks, first, here)
        settled = pkg < 0
        self.mediator.talking[talks[settled]] = False
        rows, pkg = talks[~settled], pkg[~settled]
        if rows.size:
            self.negotiate(rows, pkg, taken(here, ~settled))

    def expire(self, rows: np.ndarray) -> None:
        """At its end a truce is extended if every party whose consent it needs prefers extending
        it to its lapse; otherwise it lapses and the talks reopen on it."""
        pkg = self.inforce[rows]
        lapsed = self.space.lapse[pkg]
        keep = np.ones(rows.size, dtype=bool)
        u = self.values_of(self.parties, rows, np.stack([pkg, lapsed], axis=1), fresh=True)
        for i, p in enumerate(self.parties):
            keep &= ~p.required[pkg] | p.prefers(rows, pkg, lapsed, fresh=True, u=u[:, i])
        extended = rows[keep]
        self.truces.end[extended] = self.clock[extended] + self.spec.truce.days
        self._record(extended, "extended", self.inforce[extended])
        self.lapse(rows[~keep], "lapsed")

    def lapse(self, rows: np.ndarray, why: str) -> None:
        """The truce in force ends: its fronts reopen and its tied terms end; the talks reopen."""
        if rows.size == 0:
            return
        self._record(rows, why, self.inforce[rows])
        self.carried[rows] = -1  # a counter to a text of the old situation is moot
        self.inforce[rows] = self.space.lapse[self.inforce[rows]]
        self.truces.end[rows] = np.inf
        self.mediator.reopen(rows, self.clock[rows])

    def propose(self, idx: np.ndarray, first: np.ndarray, moment: Moment | None = None) -> np.ndarray:
        """The opening text at a world's first contact; later the mediator's revision of the single
        text (compiled or not). A drafter at the mediator's seat (a person) sees that text and
        tables its own instead: it has the last word over the model's proposal."""
        pkg = np.empty(idx.size, dtype=np.int64)
        opening = first if self.opening is not None else np.zeros(idx.size, dtype=bool)
        pkg[opening] = self.opening if self.opening is not None else -1
        if (~opening).any():
            later = idx[~opening]
            pkg[~opening] = self.mediator.propose(later, self.clock[later], taken(moment, ~opening))
        # A counter carried from the last contact is the text put to the others now.
        carried = self.carried[idx] >= 0
        pkg[carried] = self.carried[idx[carried]]
        by = np.where(carried, self.carried_by[idx], -1)
        self.carried[idx], self.carried_by[idx] = -1, -1
        k = self._where(idx)
        if k is not None:
            self._entry["by"] = (
                self.parties[int(by[k])].pid if by[k] >= 0 else "opening" if opening[k] else "mediator"
            )
        drafter = self.mediator.player
        if drafter is not None:
            drafted = drafter.draft(self.mediator, idx, pkg)
            by = np.where(drafted == pkg, by, -1)  # the envoy's own text is the mediator's
            pkg = drafted
        self.text_by[idx] = by
        return pkg

    def negotiate(self, rows: np.ndarray, pkg: np.ndarray, moment: Moment | None = None) -> None:
        """Answers to the mediator's text pkg (r,) in worlds rows; where it is not banked, a counter by
        a party that refused it (sim.engine.counters); then the mediator's give-up rule. ``moment``:
        ``moment_at(rows)``, when already computed."""
        now = self.clock[rows]
        banked, refused, after = self.put(rows, pkg, "text", moment)
        if self.believers:
            left = np.flatnonzero(~banked & refused.any(axis=0))  # nothing was banked there
            counter, by = self.counters(rows[left], pkg[left], refused[:, left], taken(after, left))
            has = counter >= 0
            if has.any():
                crow = rows[left[has]]
                if self.spec.mediator.shuttles:  # carried to the others at the next contact
                    self.carried[crow], self.carried_by[crow] = counter[has], by[has]
                    self._note_carried(crow, counter[has], by[has])
                else:
                    self.text_by[crow] = by[has]
                    banked[left[has]], _, _ = self.put(crow, counter[has], "counter", taken(after, left[has]))
        self.mediator.answered(rows, banked, now)
        quit_rows = rows[~self.mediator.talking[rows]]
        self.carried[quit_rows] = -1
        self._record(quit_rows, "gave_up", self.inforce[quit_rows])

    def _note_carried(self, rows: np.ndarray, pkg: np.ndarray, by: np.ndarray) -> None:
        k = self._where(rows)
        if k is not None:
            self._entry["carried"] = {"by": self.parties[int(by[k])].pid, "proposal": int(pkg[k])}

    def put(
        self, rows: np.ndarray, pkg: np.ndarray, stage: str, moment: Moment | None = None
    ) -> tuple[np.ndarray, np.ndarray, Moment]:
        """A text on the table: answers, ratification, banking, and learning from the public answers.
        Returns where it was banked (r,), who refused it (n, r), and the moment after the banking
        (``moment_at(rows)``). ``moment``: the one before, when already computed."""
        now = self.clock[rows]
        self.mediator.table(rows, pkg)
        here = self.moment_at(rows) if moment is None else moment
        first = stage == "text"  # demands and refusals that trigger levers answer the mediator's text
        accepted, asked, surplus, demands = self.respond(rows, pkg, record=first, moment=here)
        deal = accepted.all(axis=0)
        ratified, vetoed_by = self.ratify(rows, pkg, deal, stage, here)
        banked = deal & ratified
        if self.trace_row is not None:
            self._note_round(rows, pkg, accepted, asked, surplus, demands, deal, ratified, stage)
        self._record(rows[deal & ~ratified], "vetoed", pkg[deal & ~ratified])
        self.bank(rows[banked], pkg[banked])
        said_yes = (accepted & ~vetoed_by).T
        after = self.moment_at(rows)  # after the banking: every learner values what is now in force
        self.mediator.learn(rows, pkg, asked.T, said_yes, now, after)
        for beliefs in self.believers:
            beliefs.learn(rows, pkg, asked.T, said_yes, now, after)
        if first:
            self.mediator.listen(rows, demands)
        return banked, asked & ~accepted, after

    def counters(
        self, idx: np.ndarray, text: np.ndarray, refused: np.ndarray, moment: Moment | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The counter that stands in each world of idx after the text was refused (who refused:
        ``refused`` (n, r)), and the index of the party that tabled it; -1 where none is tabled
        (``moment``: ``moment_at(idx)``, when already computed)."""
        n = len(self.parties)
        tabled = np.full((idx.size, n), -1, dtype=np.int64)
        for i, p in enumerate(self.parties):
            sel = refused[i] & (p.beliefs is not None)
            if sel.any():
                tabled[sel, i] = p.counter(idx[sel], text[sel], self.clock[idx[sel]], taken(moment, sel))
        has = tabled >= 0
        if not has.any():
            return np.full(idx.size, -1, dtype=np.int64), np.full(idx.size, -1, dtype=np.int64)
        # each party's surplus of each counter, for Zeuthen's risk limits
        cols = np.maximum(tabled, 0)
        surplus = self.surpluses([p.values for p in self.parties], self.parties, idx, cols, moment)
        who = zeuthen(surplus, has)
        pick = np.where(who >= 0, tabled[np.arange(idx.size), np.maximum(who, 0)], -1)
        k = self._where(idx)
        if k is not None and has[k].any():
            self._entry["counters"] = {self.parties[i].pid: int(tabled[k, i]) for i in range(n) if has[k, i]}
        return pick, who

    def respond(self, idx: np.ndarray, pkg: np.ndarray, record: bool = True, moment: Moment | None = None):
        """Every party whose consent the text needs answers; a refusal names a demand (with
        ``record``: the mediator's text, whose refusals are remembered for levers; ``moment``:
        ``moment_at(idx)``, when already computed)."""
        n = len(self.parties)
        accepted = np.ones((n, idx.size), dtype=bool)
        asked = np.zeros((n, idx.size), dtype=bool)
        surplus = np.zeros((n, idx.size))
        demands = np.full((n, idx.size), -1, dtype=np.int64)
        surplus[:] = self.surpluses(
            [p.values for p in self.parties], self.parties, idx, pkg[:, None], moment
        )[:, :, 0].T
        for i, p in enumerate(self.parties):
            ok = p.respond(idx, pkg, surplus[i], self.clock[idx])
            asked[i] = p.required[pkg]
            # A party not asked still blocks a text across its red line.
            accepted[i] = np.where(asked[i], ok, ~p.red[pkg])
            refused = asked[i] & ~ok
            if not record:
                continue
            self.refused_last[p.pid][idx] = refused
            ask = (
                refused
                if self.mediator.weights_hat is not None
                else refused & (self.first_demand[idx, i] < 0)
            )
            if ask.any():
                demands[i, ask] = p.demand(idx[ask], pkg[ask], taken(moment, ask))
                first = ask & (self.first_demand[idx, i] < 0)
                self.first_demand[idx[first], i] = demands[i, first]
        return accepted, asked, surplus, demands

    def ratify(
        self,
        idx: np.ndarray,
        pkg: np.ndarray,
        deal: np.ndarray,
        stage: str = "text",
        moment: Moment | None = None,
    ):
        """Each asked party's veto player takes the deal home (Putnam 1988)."""
        ok = np.ones(idx.size, dtype=bool)
        vetoed_by = np.zeros((len(self.parties), idx.size), dtype=bool)
        for veto in self.vetoes:
            asked = deal & veto.party.required[pkg]
            if not asked.any():
                continue
            # keyed by the world's own contact count: its n-th text goes home with the n-th draw
            purpose = ("veto", veto.party.pid) if stage == "text" else ("veto", veto.party.pid, stage)
            luck = self._by_contact(purpose, idx[asked])
            passed = veto.ratify(idx[asked], pkg[asked], luck, taken(moment, asked))
            no = np.zeros(idx.size, dtype=bool)
            no[np.flatnonzero(asked)[~passed]] = True
            vetoed_by[self.index[veto.party.pid]] |= no
            ok &= ~no
        return ok, vetoed_by

    def bank(self, rows: np.ndarray, pkg: np.ndarray) -> None:
        """A ratified text is in force: a new truce starts its clock; talks go on over the rest."""
        if rows.size == 0:
            return
        old = self.inforce[rows]
        fresh = (self.space.truce[pkg] > 0) & (self.space.truce[pkg] != self.space.truce[old])
        self.truces.end[rows[fresh]] = self.clock[rows[fresh]] + self.spec.truce.days
        both = np.stack([pkg, np.full(rows.size, STATUS_QUO)], axis=1)
        u = self.values_of(self.parties, rows, both, fresh=True)
        self.gain[rows] = u[:, :, 0] - u[:, :, 1]  # each party's gain over no deal at all, at signing
        self.inforce[rows] = pkg
        self.inforce_by[rows] = self.text_by[rows]
        new = rows[np.isnan(self.first_day[rows])]
        self.first_day[new] = self.clock[new]
        self._record(rows, "banked", pkg)

    def run(self) -> NegotiationModel:
        """Play every day until the horizon, on Mesa's clock."""
        if self.time < self.spec.days:
            self.run_until(self.spec.days)
        self.running = False
        return self

    def _by_contact(self, purpose: tuple, rows: np.ndarray) -> np.ndarray:
        """One uniform draw per world of rows from the stream of (purpose, n), n its contact count."""
        n = self.held[rows]
        out = np.empty(rows.size)
        for k in present(n):
            sel = n == k
            out[sel] = self.drawn.uniform(*purpose, int(k))[rows[sel]]
        return out

    def _forget_draws(self) -> None:
        """At a day's end, keep only the draws that may still be asked: those keyed by a contact
        count (ratification, ``_by_contact``) that some world has not passed; the day's own streams
        (keyed by the day and segment) are never asked again."""
        low = int(self.held.min()) if self.held.size else 0
        self.drawn.forget(lambda purpose: purpose[0] == "veto" and purpose[-1] >= low)

    # ------------------------------------------------------------------ records

    def _record(self, rows: np.ndarray, kind: str, pkg: np.ndarray) -> None:
        if rows.size == 0:
            return
        self.counts[kind][rows] += 1
        self.history.append((rows.copy(), self.clock[rows].copy(), kind, np.asarray(pkg).copy()))
        # who tabled the text: the one answered for a banking or a veto, else the one in force
        by = self.text_by if kind in ("banked", "vetoed") else self.inforce_by
        self.history_by.append(by[rows].copy())
        self._note(rows, "happened", kind)

    def _reporters(self) -> dict[str, Any]:
        """Per-round series of the ensemble, through Mesa's DataCollector."""
        space = self.space
        out: dict[str, Any] = {"day": lambda m: m.time}
        for c, cid in enumerate(space.class_order):
            out[f"share_{cid}"] = lambda m, c=c: float(np.mean(space.package_class[m.inforce] == c))
        out["truces_in_force"] = lambda m: float(np.mean(space.truce[m.inforce] > 0))
        out["talking"] = lambda m: float(np.mean(m.mediator.talking))
        for kind in ("lapsed", "violated", "banked"):
            out[f"{kind}_so_far"] = lambda m, kind=kind: float(np.mean(m.counts[kind]))
        for i, p in enumerate(self.parties):
            everyone = np.arange(self.replications)
            out[f"margin_{p.pid}"] = lambda m, p=p, e=everyone: float(np.mean(p.margin(e, m.clock)))
            out[f"believed_{p.pid}"] = lambda m, i=i: float(np.mean(m.believed_at_day_end()[:, i]))
        return out

    def believed_at_day_end(self) -> np.ndarray:
        """(R, n) the mediator's believed margins of every party at the day's end: computed once for
        the n reporters of the day (each reads its party's column)."""
        if "believed" not in self._day_end:
            everyone = np.arange(self.replications)
            self._day_end["believed"] = self.mediator.believed_margin(everyone, self.clock)
        return self._day_end["believed"]

    # ------------------------------------------------------------------ transcript of one world

    def _open_entry(self, rows: np.ndarray, t: np.ndarray) -> None:
        """Start the transcript entry of the traced world's moment, if it has one among rows."""
        k = self._where(rows)
        if k is not None:
            self._entry = {"day": float(t[k]), "contact": int(self.held[self.trace_row])}

    def _close_entry(self) -> None:
        """Keep the traced world's entry if anything happened at its moment."""
        e, self._entry = self._entry, {}
        if e and set(e) - {"day", "contact", "momentum"}:
            j = self.trace_row
            e["contact"] = int(self.held[j])
            e["inforce"] = int(self.inforce[j])
            e["talking"] = bool(self.mediator.talking[j])
            self.transcript.append(e)

    def _where(self, rows: np.ndarray) -> int | None:
        if self.trace_row is None:
            return None
        hit = np.flatnonzero(rows == self.trace_row)
        return int(hit[0]) if hit.size else None

    def _note(self, rows: np.ndarray, key: str, what: Any) -> None:
        if self._where(rows) is not None:
            self._entry.setdefault(key, []).append(what)

    def _note_value(self, rows: np.ndarray, key: str, what: Any) -> None:
        if self._where(rows) is not None:
            self._entry[key] = what

    def _note_levers(self, rows: np.ndarray, fired: list[np.ndarray]) -> None:
        k = self._where(rows)
        if k is not None:
            self._entry["levers"] = [lv for lv, f in zip(self.levers.ids, fired, strict=True) if f[k]]

    def _note_round(self, rows, pkg, accepted, asked, surplus, demands, deal, ratified, stage="text") -> None:
        k = self._where(rows)
        if k is None:
            return
        j, p = self.trace_row, int(pkg[k])
        e: dict[str, Any] = {}
        e["proposal"] = p
        e["deal"], e["ratified"] = bool(deal[k]), bool(deal[k] and ratified[k])
        e["parties"] = []
        for i, party in enumerate(self.parties):
            e["parties"].append(
                {
                    "party": party.pid,
                    "asked": bool(asked[i, k]),
                    "surplus": float(surplus[i, k]),
                    "margin": float(party.margin(np.array([j]), self.clock[[j]])[0]),
                    "believed": float(self.mediator.believed_margin(np.array([j]), self.clock[[j]])[0, i]),
                    "red_line": bool(party.red[p]),
                    "accepted": bool(accepted[i, k]),
                    "demand": int(demands[i, k]) if demands[i, k] >= 0 else None,
                }
            )
        e["ratification"] = [
            {
                "party": v.party.pid,
                "veto": v.spec.label,
                "probability": float(v.probability(np.array([j]), np.array([p]))[0]),
            }
            for v in self.vetoes
            if deal[k] and v.party.required[p]
        ]
        if stage == "text":
            self._entry.update(e)
        else:  # a counter-proposal, with the party that tabled it
            self._entry["counter"] = {"by": self.parties[int(self.text_by[j])].pid, **e}
