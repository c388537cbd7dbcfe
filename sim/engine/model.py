"""NegotiationModel: a mediated multi-party negotiation, run as an ensemble of worlds in lockstep.

Time is in days; one ``step()`` is one meeting cycle of ``calendar.days_per_round`` days:

1. **World.** The fronts left open hurt each party; the balance of power moves (with the fighting,
   or by the rebuild rates of a truce); events happen; a truce in force may be violated, and at its
   end is extended if every party whose consent it needs prefers that to its lapse.
2. **Levers.** Sticks and carrots fire by policy.
3. **Proposal.** The opening text first, then the mediator's revisions of the single text.
4. **Responses.** Each party whose consent the text needs accepts or refuses (naming a demand).
5. **Ratification.** Each capital's veto player ratifies or not.
6. **Banking.** A ratified text is in force from then on; talks go on over the rest.

Each of the R replications is one possible world drawn from the scenario's uncertainty; agents hold
their state as arrays over worlds, so a round is a few array operations. A world's outcome is what
is in force at the horizon, with its history. ``replications=1`` is the readable single run.
"""

from __future__ import annotations

import zlib
from typing import Any

import mesa
import numpy as np

from sim.engine.dynamics import Battlefield, Events, Levers, Truces
from sim.engine.mediator import Mediator
from sim.engine.outcomes import STATUS_QUO, OutcomeSpace
from sim.engine.parties import Party, VetoPlayer
from sim.engine.valuation import Values
from sim.scenario.schema import Scenario

EVENTS = ("banked", "extended", "lapsed", "violated", "vetoed", "gave_up")


class NegotiationModel(mesa.Model):
    """Mediated negotiation over ``replications`` worlds, followed to the scenario's horizon.

    Args:
        scenario: a validated scenario (``sim.load_scenario``).
        replications: number of worlds played in lockstep.
        rng: seed or ``numpy.random.Generator``; fixes every number.
        trace: index of one world whose rounds are recorded in ``self.transcript``.
        space: a precompiled outcome space of this scenario, shared between chunks.

    Every kind of draw has its own random stream derived from ``rng``'s seed (and, for what happens
    during the talks, the round), filled world by world: world j is the same world however many
    worlds are played and whatever the horizon.
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
        self.cycle = sc.calendar.days_per_round
        self.window = sc.valuation.window_days
        self.now = 0
        self.inforce = np.full(R, STATUS_QUO, dtype=np.int64)
        self.parties = [Party(self, pid, p) for pid, p in sc.parties.items()]
        self.party = {p.pid: p for p in self.parties}
        self.index = {p.pid: i for i, p in enumerate(self.parties)}
        self.vetoes = [VetoPlayer(self, p, p.spec.veto) for p in self.parties if p.spec.veto]
        self.mediator = Mediator(self, sc.mediator)
        self.opening = self.space.index(sc.opening.package) if sc.opening else None
        self.battlefield = Battlefield(sc.dynamics.momentum, self.space, self.stream, R)
        self.truces = Truces(sc.truce, self.space, self.stream, R)
        self.events = Events(sc.events, self.stream, R)
        self.levers = Levers(sc.levers, self.party, self.space.fronts, R)

        n, T = len(self.parties), sc.rounds
        self.refused_last = {p.pid: np.zeros(R, dtype=bool) for p in self.parties}
        self.class_by_round = np.zeros((R, T), dtype=np.int16)
        self.first_day = np.zeros(R, dtype=np.int32)
        self.counts = {kind: np.zeros(R, dtype=np.int16) for kind in EVENTS}
        self.gain = np.full((R, n), np.nan)
        self.first_demand = np.full((R, n), -1, dtype=np.int16)
        self.history: list[tuple[np.ndarray, int, str, np.ndarray]] = []
        self.trace_row = trace
        self.transcript: list[dict[str, Any]] = []
        self._entry: dict[str, Any] = {}
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
        days = np.full((idx.size, n_options), self.spec.truce.days, dtype=np.int64)
        days[:, 0] = 0
        if not fresh:
            current = self.space.truce[self.inforce[idx]]
            left = np.maximum(self.truces.end[idx] - self.now, 0)
            rows = np.flatnonzero(current > 0)
            days[rows, current[rows]] = left[rows]
        return days

    def value(
        self, values: Values, party: Party, idx: np.ndarray, pkgs: np.ndarray | None, fresh: bool = False
    ) -> np.ndarray:
        """(r, C) value of packages (r, C; None: all) for a valuer, under the pressure on its party."""
        m = self.battlefield.momentum[idx]
        days = self.truce_days(idx, fresh)
        return values.of(self.space, idx, pkgs, days, m, party.shift[idx], self.window)

    def surplus(self, values: Values, party: Party, idx: np.ndarray, pkgs: np.ndarray | None) -> np.ndarray:
        """(r, C) value of packages (r, C; (C,) in every world; None: all) over what is in force; a
        carrot adds to any change."""
        here = self.inforce[idx][:, None]
        gain = self.value(values, party, idx, pkgs) - self.value(values, party, idx, here)
        cols = np.arange(self.space.n) if pkgs is None else pkgs
        return gain + party.bonus[idx][:, None] * (cols != here)

    # ------------------------------------------------------------------ one round

    def step(self) -> None:
        t = self.steps
        self.now = t * self.cycle  # talks of this cycle end, and a deal is signed, on this day
        everyone = np.arange(self.replications)
        self._entry = {"round": t, "day": self.now} if self.trace_row is not None else {}
        self.world(t, everyone)
        talks = everyone[self.mediator.talking]
        fired = self.levers.apply(talks, self.now, self.refused_last)
        self._note_levers(talks, fired)
        pkg = self.propose(t, talks)
        settled = pkg < 0
        self.mediator.talking[talks[settled]] = False
        rows, pkg = talks[~settled], pkg[~settled]
        if rows.size:
            self.negotiate(t, rows, pkg)
        self.class_by_round[:, t - 1] = self.space.package_class[self.inforce]
        self.datacollector.collect(self)
        if self.trace_row is not None:
            self._entry["inforce"] = int(self.inforce[self.trace_row])
            self._entry["talking"] = bool(self.mediator.talking[self.trace_row])
            self.transcript.append(self._entry)
        self.running = t < self.spec.rounds

    def world(self, t: int, idx: np.ndarray) -> None:
        """The war hurts on the open fronts; the balance moves; events; truces end or hold."""
        days, inforce = self.cycle, self.inforce[idx]
        open_fronts = ~self.space.closes[inforce]
        m = self.battlefield.momentum[idx]
        # Order does not matter here: every party and the mediator take the same war's measure.
        self.agents_by_type[Party].do("feel_war", idx, days, m, open_fronts)
        self.mediator.feel_war(idx, days, m, open_fronts)
        self.battlefield.advance(t, idx, inforce, days)
        self.happen(t, idx)
        broken = self.truces.violated(t, idx, inforce, days)
        self.lapse(idx[broken], "violated")
        due = self.truces.expiring(idx, self.inforce[idx], self.now) & ~broken
        if due.any():
            self.expire(idx[due])
        if self.trace_row is not None:
            self._entry["momentum"] = float(self.battlefield.momentum[self.trace_row])

    def happen(self, t: int, idx: np.ndarray) -> None:
        hits = self.events.fire(t, idx, self.now, self.cycle)
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

    def expire(self, rows: np.ndarray) -> None:
        """At its end a truce is extended if every party whose consent it needs prefers extending
        it to its lapse; otherwise it lapses and the talks reopen on it."""
        pkg = self.inforce[rows]
        lapsed = self.space.lapse[pkg]
        keep = np.ones(rows.size, dtype=bool)
        for p in self.parties:
            keep &= ~p.required[pkg] | p.prefers(rows, pkg, lapsed, fresh=True)
        extended = rows[keep]
        self.truces.end[extended] = self.now + self.spec.truce.days
        self._record(extended, "extended", self.inforce[extended])
        self.lapse(rows[~keep], "lapsed")

    def lapse(self, rows: np.ndarray, why: str) -> None:
        """The truce in force ends: its fronts reopen and its tied terms end; the talks reopen."""
        if rows.size == 0:
            return
        self._record(rows, why, self.inforce[rows])
        self.inforce[rows] = self.space.lapse[self.inforce[rows]]
        self.truces.end[rows] = 0
        self.mediator.reopen(rows, self.now)

    def propose(self, t: int, idx: np.ndarray) -> np.ndarray:
        """The opening text on the first day; later the mediator's revision of the single text.
        A drafter at the mediator's seat (a person) sees that text and tables its own instead."""
        if t == 1 and self.opening is not None:
            pkg = np.full(idx.size, self.opening, dtype=np.int64)
            self._note_value(idx, "by", "opening")
        else:
            self._note_value(idx, "by", "mediator")
            pkg = self.mediator.propose(idx, self.now)
        drafter = self.mediator.player
        return pkg if drafter is None else drafter.draft(self.mediator, idx, pkg)

    def negotiate(self, t: int, rows: np.ndarray, pkg: np.ndarray) -> None:
        """Responses, ratification and banking of the texts pkg (r,) in worlds rows."""
        self.mediator.table(rows, pkg)
        accepted, asked, surplus, demands = self.respond(rows, pkg)
        deal = accepted.all(axis=0)
        ratified, vetoed_by = self.ratify(t, rows, pkg, deal)
        banked = deal & ratified
        if self.trace_row is not None:
            self._note_round(rows, pkg, accepted, asked, surplus, demands, deal, ratified)
        self._record(rows[deal & ~ratified], "vetoed", pkg[deal & ~ratified])
        self.bank(rows[banked], pkg[banked])
        self.mediator.learn(rows, pkg, asked.T, (accepted & ~vetoed_by).T, self.now)
        self.mediator.listen(rows, demands)
        self.mediator.answered(rows, ~banked, banked, self.now)
        quit_rows = rows[~self.mediator.talking[rows]]
        self._record(quit_rows, "gave_up", self.inforce[quit_rows])

    def respond(self, idx: np.ndarray, pkg: np.ndarray):
        """Every party whose consent the text needs answers; a refusal names a demand."""
        n = len(self.parties)
        accepted = np.ones((n, idx.size), dtype=bool)
        asked = np.zeros((n, idx.size), dtype=bool)
        surplus = np.zeros((n, idx.size))
        demands = np.full((n, idx.size), -1, dtype=np.int64)
        for i, p in enumerate(self.parties):
            surplus[i] = self.surplus(p.values, p, idx, pkg[:, None])[:, 0]
            ok = p.respond(idx, pkg, surplus[i], self.now)
            asked[i] = p.required[pkg]
            # A party not asked still blocks a text across its red line.
            accepted[i] = np.where(asked[i], ok, ~p.red[pkg])
            refused = asked[i] & ~ok
            self.refused_last[p.pid][idx] = refused
            ask = (
                refused
                if self.mediator.weights_hat is not None
                else refused & (self.first_demand[idx, i] < 0)
            )
            if ask.any():
                demands[i, ask] = p.demand(idx[ask], pkg[ask])
                first = ask & (self.first_demand[idx, i] < 0)
                self.first_demand[idx[first], i] = demands[i, first]
        return accepted, asked, surplus, demands

    def ratify(self, t: int, idx: np.ndarray, pkg: np.ndarray, deal: np.ndarray):
        """Each asked party's veto player takes the deal home (Putnam 1988)."""
        ok = np.ones(idx.size, dtype=bool)
        vetoed_by = np.zeros((len(self.parties), idx.size), dtype=bool)
        for veto in self.vetoes:
            asked = deal & veto.party.required[pkg]
            if not asked.any():
                continue
            luck = self.stream("veto", veto.party.pid, t).random(self.replications)[idx[asked]]
            passed = veto.ratify(idx[asked], pkg[asked], luck)
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
        self.truces.end[rows[fresh]] = self.now + self.spec.truce.days
        both = np.stack([pkg, np.full(rows.size, STATUS_QUO)], axis=1)
        for i, p in enumerate(self.parties):  # each party's gain over no deal at all, at signing
            u = self.value(p.values, p, rows, both, fresh=True)
            self.gain[rows, i] = u[:, 0] - u[:, 1]
        self.inforce[rows] = pkg
        self.first_day[rows[self.first_day[rows] == 0]] = self.now
        self._record(rows, "banked", pkg)

    def run(self) -> NegotiationModel:
        """Play every meeting cycle until the horizon."""
        while self.running:
            self.step()
        return self

    # ------------------------------------------------------------------ records

    def _record(self, rows: np.ndarray, kind: str, pkg: np.ndarray) -> None:
        if rows.size == 0:
            return
        self.counts[kind][rows] += 1
        self.history.append((rows.copy(), self.now, kind, np.asarray(pkg).copy()))
        self._note(rows, "happened", kind)

    def _reporters(self) -> dict[str, Any]:
        """Per-round series of the ensemble, through Mesa's DataCollector."""
        space = self.space
        out: dict[str, Any] = {"day": lambda m: m.now}
        for c, cid in enumerate(space.class_order):
            out[f"share_{cid}"] = lambda m, c=c: float(np.mean(space.package_class[m.inforce] == c))
        out["truces_in_force"] = lambda m: float(np.mean(space.truce[m.inforce] > 0))
        out["talking"] = lambda m: float(np.mean(m.mediator.talking))
        for kind in ("lapsed", "violated", "banked"):
            out[f"{kind}_so_far"] = lambda m, kind=kind: float(np.mean(m.counts[kind]))
        for i, p in enumerate(self.parties):
            everyone = np.arange(self.replications)
            out[f"margin_{p.pid}"] = lambda m, p=p, e=everyone: float(np.mean(p.margin(e, m.now)))
            out[f"believed_{p.pid}"] = lambda m, i=i, e=everyone: float(
                np.mean(m.mediator.believed_margin(e, m.now)[:, i])
            )
        return out

    # ------------------------------------------------------------------ transcript of one world

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

    def _note_round(self, rows, pkg, accepted, asked, surplus, demands, deal, ratified) -> None:
        k = self._where(rows)
        if k is None:
            return
        j, p = self.trace_row, int(pkg[k])
        e = self._entry
        e["proposal"] = p
        e["deal"], e["ratified"] = bool(deal[k]), bool(deal[k] and ratified[k])
        e["parties"] = []
        for i, party in enumerate(self.parties):
            e["parties"].append(
                {
                    "party": party.pid,
                    "asked": bool(asked[i, k]),
                    "surplus": float(surplus[i, k]),
                    "margin": float(party.margin(np.array([j]), self.now)[0]),
                    "believed": float(self.mediator.believed_margin(np.array([j]), self.now)[0, i]),
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
