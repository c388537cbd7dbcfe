"""The mediator: a single negotiating text, revised toward the Nash bargaining solution.

Raiffa (1982), *The Art and Science of Negotiation*: the mediator drafts one text, the parties
criticise it, and the mediator revises it, instead of each side tabling its own. Here each revision
is the package that maximises the Nash (1950) product of the parties' estimated surpluses over what
they are believed to ask, among the extensions of what is already banked (nothing banked is dropped),
and, with ``reach = k``, within k issue changes of the text on the table.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.engine.beliefs import Beliefs
from sim.engine.outcomes import STATUS_QUO
from sim.engine.valuation import term_tables
from sim.scenario import schema as S


class Mediator(mesa.Agent):
    """The mediator's beliefs differ across worlds: it draws its prior of each party's priorities,
    option values and daily war values from the scenario's stated uncertainty, as the parties' own
    values are drawn, so its guess is one plausible world, not the truth.

    It believes each party asks the scenario's mean margin, shrunk by the hurt it estimates the
    party has taken, plus a learned offset: a refusal raises the offset above the refused text's
    estimated surplus, an acceptance caps it there (a refused text is evidence). With
    ``listening > 0`` it also reads each demand as a sign of salience. A leaders' call (an event
    that ``reveal``s) gives it the true priorities, values and margins of that world.

    It gives up, at a contact, once ``give_up.after_stalled_days`` days have passed without a banked
    text (since the talks (re)opened or the last banking) or ``after_days`` days since the talks
    (re)opened: a rule in days, which the parties do not know; talks reopen when a truce ends.
    """

    def __init__(self, model: mesa.Model, spec: S.Mediator) -> None:
        super().__init__(model)
        self.spec = spec
        R = model.replications
        sc = model.spec
        self.parties = model.parties
        self.beliefs = Beliefs(model, ("mediator",), spec.learning_step, spec.informed)
        self.weights_hat = None  # per-world salience estimates, kept only when listening
        self.required = np.array([p.required for p in self.parties])  # (n, P)
        self.text = np.full(R, STATUS_QUO, dtype=np.int64)
        self.talking = np.ones(R, dtype=bool)
        self.since = np.zeros(R)  # the time talks (re)opened
        self.progress = np.zeros(R)  # the time talks (re)opened or a text was last banked
        if spec.listening > 0:
            self._listening_tables(sc)

    # ------------------------------------------------------------------ beliefs

    def _listening_tables(self, sc: S.Scenario) -> None:
        """Salience estimates per world, revised from demands; the option values they weigh are then
        the stated means."""
        space, R = self.model.space, self.model.replications
        terms = [space.issues[k] for k in space.term_ks]
        self.weights_hat = np.stack(
            [
                np.broadcast_to([p.spec.positions[i].weight for i in terms], (R, len(terms)))
                for p in self.parties
            ],
            axis=1,
        ).copy()  # (R, n, k)

    # The beliefs are held by a Beliefs (sim.engine.beliefs), shared with countering parties.
    @property
    def est(self):
        return self.beliefs.est

    @property
    def offset(self) -> np.ndarray:
        return self.beliefs.offset

    @property
    def informed(self) -> np.ndarray:
        return self.beliefs.informed

    def reveal(self, rows: np.ndarray) -> None:
        self.beliefs.reveal(rows)

    def feel_war(self, idx: np.ndarray, days: np.ndarray, m: np.ndarray, open_fronts: np.ndarray) -> None:
        self.beliefs.feel_war(idx, days, m, open_fronts)

    def believed_margin(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        return self.beliefs.believed_margin(idx, day)

    def estimate(self, idx: np.ndarray, pkgs: np.ndarray | None) -> np.ndarray:
        return self.beliefs.estimate(idx, pkgs)

    # ------------------------------------------------------------------ the text

    def candidates(self, idx: np.ndarray) -> np.ndarray:
        """(r, P) packages the mediator may table: negotiable extensions of what is in force (with no
        carrot not yet offered), near
        the text on the table when it has a reach (all extensions if none is near)."""
        space = self.model.space
        inforce = self.model.inforce[idx]
        ok = space.negotiable[None, :] & space.extends(inforce)
        ok[np.arange(idx.size), inforce] = False
        locked = self.model.levers.locked(idx)  # a carrot is tabled only once offered
        if locked is not None:
            ok &= ~locked
        if self.spec.reach is not None:
            near = ok & (space.changes(self.text[idx]) <= self.spec.reach)
            ok = np.where(near.any(axis=1, keepdims=True), near, ok)
        return ok

    BLOCK = 4096  # worlds solved at once (a chunk): fewer, larger array operations

    def propose(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The revised text in each world of idx; -1 where no extension is left to propose."""
        out = np.empty(idx.size, dtype=np.int64)
        for a in range(0, idx.size, self.BLOCK):
            rows = idx[a : a + self.BLOCK]
            allowed = self.candidates(rows)
            cols = np.flatnonzero(allowed.any(axis=0))  # only packages some world may table
            if cols.size == 0:
                out[a : a + self.BLOCK] = -1
                continue
            when = day[a : a + self.BLOCK]
            surplus = self.estimate(rows, cols) - self.believed_margin(rows, when)[:, :, None]
            pick = nash_choice(surplus, self.required[:, cols], allowed[:, cols])
            out[a : a + self.BLOCK] = np.where(pick >= 0, cols[np.maximum(pick, 0)], -1)
        return out

    def table(self, idx: np.ndarray, pkg: np.ndarray) -> None:
        self.text[idx] = pkg

    # ------------------------------------------------------------------ learning

    def learn(
        self, idx: np.ndarray, pkg: np.ndarray, asked: np.ndarray, said_yes: np.ndarray, day: np.ndarray
    ) -> None:
        """Update the beliefs from the public answers (r, n) to the texts pkg (r,)."""
        self.beliefs.learn(idx, pkg, asked, said_yes, day)

    def listen(self, idx: np.ndarray, demands: np.ndarray) -> None:
        """A demand (n, r; move index or -1) marks its issue as salient to the party that made it."""
        if self.weights_hat is None:
            return
        space = self.model.space
        term_pos = {k: i for i, k in enumerate(space.term_ks)}
        for i, party in enumerate(self.parties):
            said = demands[i] >= 0
            if not said.any():
                continue
            rows = idx[said]
            for r, mv in zip(rows, demands[i, said], strict=True):
                k = space.moves[mv][0]
                if k in term_pos:
                    self.weights_hat[r, i, term_pos[k]] *= 1.0 + self.spec.listening
            self.weights_hat[rows, i] /= self.weights_hat[rows, i].sum(axis=1, keepdims=True)
            self._retable(rows, i, party)

    def _retable(self, rows: np.ndarray, i: int, party) -> None:
        """Rebuild the term tables of party i in rows under the revised salience estimates."""
        space = self.model.space
        values = [
            np.broadcast_to(
                np.array([party.spec.positions[space.issues[k]].values[o] for o in space.options[k]]),
                (rows.size, len(space.options[k])),
            )
            for k in space.term_ks
        ]
        perm, tied = term_tables(
            space, self.weights_hat[rows, i], values, space.interaction_vector(party.spec)
        )
        self.est[i].perm[rows] = perm
        self.est[i].tied[rows] = tied

    def answered(self, idx: np.ndarray, banked: np.ndarray, day: np.ndarray) -> None:
        """After the answers at a contact (times day): note progress, and give up by the rule in days."""
        self.progress[idx] = np.where(banked, day, self.progress[idx])
        gu = self.spec.give_up
        stop = np.zeros(idx.size, dtype=bool)
        if gu.after_stalled_days is not None:
            stop |= day - self.progress[idx] >= gu.after_stalled_days
        if gu.after_days is not None:
            stop |= day - self.since[idx] >= gu.after_days
        deadline = self.model.spec.calendar.deadline_day
        if deadline is not None:
            stop |= day >= deadline
        self.talking[idx[stop]] = False

    def reopen(self, rows: np.ndarray, day: np.ndarray) -> None:
        """Talks resume where a truce has ended (before any declared deadline)."""
        deadline = self.model.spec.calendar.deadline_day
        if deadline is not None:
            keep = day < deadline
            rows, day = rows[keep], day[keep]
        self.talking[rows] = True
        self.since[rows] = day
        self.progress[rows] = day


def nash_choice(surplus: np.ndarray, required: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """For each world: the best allowed package given surpluses over believed asks (r, n, P).

    Best = largest Nash product of surpluses of the required parties among packages every required
    party is believed to accept; if there is none, the smallest total shortfall. Ties: the larger
    total surplus, then the lower index. -1 where nothing is allowed. ``required`` (n, P) marks whose
    consent each package needs.
    """
    req = required[None]
    feasible = allowed & np.where(req, surplus > 0, True).all(axis=1)
    nash = np.where(req, surplus, 1.0).prod(axis=1)
    shortfall = np.where(req, np.maximum(-surplus, 0.0), 0.0).sum(axis=1)
    total = np.where(req, surplus, 0.0).sum(axis=1)
    any_ok = feasible.any(axis=1, keepdims=True)
    primary = np.where(any_ok, np.where(feasible, nash, -np.inf), np.where(allowed, -shortfall, -np.inf))
    best = (primary == primary.max(axis=1, keepdims=True)) & allowed
    secondary = np.where(best, total, -np.inf)
    best &= secondary == secondary.max(axis=1, keepdims=True)
    return np.where(allowed.any(axis=1), np.argmax(best, axis=1), -1)
