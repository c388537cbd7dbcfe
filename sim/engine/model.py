"""NegotiationModel: a mediated multi-party negotiation, run as an ensemble of worlds in lockstep.

One ``step()`` is one round: world dynamics, levers, the mediator's proposal, the parties'
responses (with demands), ratification at home, and the record of any agreement. Each of the R
replications is one possible world drawn from the scenario's uncertainty; the agents hold their
state as arrays over worlds, so a round is a few array operations. ``replications=1`` is the
readable single run.
"""

from __future__ import annotations

import zlib
from typing import Any

import mesa
import numpy as np

from sim.engine.dynamics import Battlefield, Events, Levers
from sim.engine.mediator import Mediator
from sim.engine.outcomes import OutcomeSpace
from sim.engine.parties import Party, VetoPlayer
from sim.scenario import Scenario


class NegotiationModel(mesa.Model):
    """Mediated negotiation rounds over ``replications`` worlds.

    Args:
        scenario: a validated scenario (``sim.load_scenario``).
        replications: number of worlds played in lockstep.
        rng: seed or ``numpy.random.Generator``; fixes every number.
        trace: index of one world whose rounds are recorded in ``self.transcript``.
        space: a precompiled outcome space of this scenario, shared between chunks.
    Every kind of draw (a party's weights, its reservation, the battlefield's noise, an event's
    luck ...) has its own random stream derived from ``rng``'s seed, and fills world 0, 1, 2 ... in
    order: world j is the same world however many worlds are played, and whatever else is drawn.
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
        self.spec = scenario
        self.replications = R = int(replications)
        self.space = space if space is not None else OutcomeSpace(scenario)
        T = scenario.rounds
        self.parties = [Party(self, pid, p) for pid, p in scenario.parties.items()]
        self.party = {p.pid: p for p in self.parties}
        self.index = {p.pid: i for i, p in enumerate(self.parties)}
        self.vetoes = [VetoPlayer(self, p, p.spec.veto) for p in self.parties if p.spec.veto]
        self.mediator = Mediator(self, scenario.mediator)
        self.opening = self.space.index(scenario.opening.package) if scenario.opening else None
        on_table = self.mediator.proposable
        if self.opening is not None:
            on_table = np.union1d(on_table, [self.opening])
        for p in self.parties:
            p.tabulate(on_table)
        self.battlefield = Battlefield(scenario.dynamics.momentum, self.stream("battlefield"), R, T)
        self.events = Events(scenario.events, self.stream, R, T)
        self.levers = Levers(scenario.levers, self.party, R)
        luck = [self.stream("veto", v.party.pid, "luck").random((R, T)) for v in self.vetoes]
        self.ratify_luck = np.array(luck).reshape(len(self.vetoes), R, T)

        n = len(self.parties)
        self.agreed = np.zeros(R, dtype=bool)
        self.round = np.zeros(R, dtype=np.int16)
        self.package = np.full(R, -1, dtype=np.int64)
        self.utility = np.full((R, n), np.nan)
        self.ratification_failures = np.zeros(R, dtype=np.int16)
        self.first_demand = np.full((R, n), -1, dtype=np.int16)
        self.rejected_last = {p.pid: np.zeros(R, dtype=bool) for p in self.parties}
        self.active = np.arange(R)
        self.trace_row = trace
        self.transcript: list[dict[str, Any]] = []
        self.running = True

    def stream(self, *purpose: str) -> np.random.Generator:
        """The random stream of one kind of draw, derived from this model's seed and the purpose."""
        seq = self.rng.bit_generator.seed_seq
        key = zlib.crc32("/".join(purpose).encode())
        return np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, key)))

    # ------------------------------------------------------------------ one round

    def step(self) -> None:
        t, idx = self.steps, self.active
        happened = self.world(t, idx)
        fired = self.levers.apply(t, idx, self.rejected_last)
        self.mediator.see_levers(self.levers, idx, fired)
        momentum = self.battlefield.momentum[idx]
        for p in self.parties:
            p.update_position(t, idx, momentum)
        pkg = self.propose(t, idx)
        self.mediator.table(idx, pkg)
        accepted, utils, demands = self.respond(pkg, idx)
        deal = accepted.all(axis=0)
        ratified, vetoed_by = self.ratify(t, pkg, idx, deal)
        self.mediator.learn(t, idx, pkg, accepted & ~vetoed_by)
        self.mediator.listen(idx, demands)
        done = deal & ratified
        self.record(t, idx, pkg, utils, done, deal)
        if self.trace_row is not None:
            self._trace(t, idx, pkg, accepted, utils, deal, ratified, happened, fired)
        self.active = idx[~done]
        self.running = t < self.spec.rounds and self.active.size > 0

    def world(self, t: int, idx: np.ndarray) -> list[np.ndarray]:
        """Battlefield momentum moves; scenario events fire and take effect."""
        self.battlefield.advance(t, idx)
        hits = self.events.fire(t, idx)
        for ev, hit in zip(self.events.specs, hits, strict=True):
            rows = idx[hit]
            if rows.size == 0:
                continue
            for pid, shift in ev.reservation_shift.items():
                self.party[pid].shift[rows] += shift
                self.mediator.offset[rows, self.index[pid]] += shift  # the event is public
            self.battlefield.momentum[rows] += ev.momentum_shift
            if ev.reveal:
                self.mediator.informed[rows] = True
        return hits

    def propose(self, t: int, idx: np.ndarray) -> np.ndarray:
        """Round 1 puts the scenario's opening proposal on the table; later rounds the mediator's."""
        if t == 1 and self.opening is not None:
            return np.full(idx.size, self.opening, dtype=np.int64)
        return self.mediator.propose(t, idx)

    def respond(self, pkg: np.ndarray, idx: np.ndarray):
        """Every party whose consent the package needs answers; a refusal names a demand."""
        n = len(self.parties)
        accepted = np.ones((n, idx.size), dtype=bool)
        utils = np.empty((n, idx.size))
        demands = np.full((n, idx.size), -1, dtype=np.int64)
        for i, p in enumerate(self.parties):
            ok, utils[i] = p.respond(pkg, idx)
            asked = p.required[pkg]
            # A party not asked still blocks a package across its red line (``ok`` checks it too).
            accepted[i] = np.where(asked, ok, ~p.red[pkg])
            refused = asked & ~ok
            self.rejected_last[p.pid][idx] = refused
            # Demands are worked out where someone listens: always the first, every one if the
            # mediator learns from them.
            ask = refused if self.mediator.listening else refused & (self.first_demand[idx, i] < 0)
            if ask.any():
                demands[i, ask] = p.demand(pkg[ask], idx[ask])
                first = ask & (self.first_demand[idx, i] < 0)
                self.first_demand[idx[first], i] = demands[i, first]
        return accepted, utils, demands

    def ratify(self, t: int, pkg: np.ndarray, idx: np.ndarray, deal: np.ndarray):
        """Each required party's veto player takes the deal home (Putnam 1988)."""
        ok = np.ones(idx.size, dtype=bool)
        vetoed_by = np.zeros((len(self.parties), idx.size), dtype=bool)
        for v, veto in enumerate(self.vetoes):
            asked = deal & veto.party.required[pkg]
            if not asked.any():
                continue
            passed = veto.ratify(pkg[asked], idx[asked], self.ratify_luck[v, idx[asked], t - 1])
            no = np.zeros(idx.size, dtype=bool)
            no[np.flatnonzero(asked)[~passed]] = True
            vetoed_by[self.parties.index(veto.party)] |= no
            ok &= ~no
        self.ratification_failures[idx[deal & ~ok]] += 1
        return ok, vetoed_by

    def record(self, t, idx, pkg, utils, done, deal) -> None:
        rows = idx[done]
        self.agreed[rows] = True
        self.round[rows] = t
        self.package[rows] = pkg[done]
        self.utility[rows] = utils[:, done].T

    def run(self) -> NegotiationModel:
        """Play every round until all worlds have agreed or the deadline passes."""
        while self.running:
            self.step()
        return self

    # ------------------------------------------------------------------ transcript

    def _trace(self, t, idx, pkg, accepted, utils, deal, ratified, happened, fired) -> None:
        j = self.trace_row
        where = np.flatnonzero(idx == j)
        if where.size == 0:
            return
        k = int(where[0])
        p = int(pkg[k])
        entry: dict[str, Any] = {
            "round": t,
            "momentum": float(self.battlefield.momentum[j]),
            "events": [e for e, h in zip(self.events.ids, happened, strict=True) if h[k]],
            "levers": [lv for lv, f in zip(self.levers.ids, fired, strict=True) if f[k]],
            "proposal": p,
            "by": "opening" if (t == 1 and self.opening is not None) else "mediator",
            "informed": bool(self.mediator.informed[j]),
            "parties": [],
            "deal": bool(deal[k]),
            "ratified": bool(deal[k] and ratified[k]),
            "ratification": [],
        }
        for veto in self.vetoes:
            if deal[k] and veto.party.required[p]:
                z = (veto.u[p] - veto.threshold[j]) / veto.spec.slope
                entry["ratification"].append(
                    {
                        "party": veto.party.pid,
                        "veto": veto.spec.label,
                        "utility": float(veto.u[p]),
                        "threshold": float(veto.threshold[j]),
                        "probability": float(1.0 / (1.0 + np.exp(-z))),
                    }
                )
        for i, party in enumerate(self.parties):
            asked = bool(party.required[p])
            row = {
                "party": party.pid,
                "asked": asked,
                "utility": float(utils[i, k]),
                "bonus": float(party.bonus[j]),
                "aspiration": float(party.aspiration[j]),
                "reservation": float(party.reservation[j]),
                "red_line": bool(party.red[p]),
                "accepted": bool(accepted[i, k]),
                "demand": None,
            }
            if asked and not accepted[i, k]:
                m = int(party.demand(np.array([p]), np.array([j]))[0])
                row["demand"] = m if m >= 0 else None
            entry["parties"].append(row)
        self.transcript.append(entry)
