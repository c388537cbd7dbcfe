"""The mediator: a single negotiating text, revised toward the Nash bargaining solution.

Raiffa (1982), *The Art and Science of Negotiation*: the mediator drafts one text, the parties
criticise it, and the mediator revises it, instead of each side tabling its own. Here each revision
is the package that maximises the Nash (1950) product of the parties' estimated surpluses over what
they are believed to ask, among the extensions of what is already banked (nothing banked is dropped),
and, with ``reach = k``, within k issue changes of the text on the table.
"""

from __future__ import annotations

from typing import Any, Protocol

import mesa
import numpy as np

from sim.engine.beliefs import Beliefs
from sim.engine.jit import kernel
from sim.engine.outcomes import STATUS_QUO
from sim.engine.parties import draw_values
from sim.engine.valuation import Moment, term_value, weigh
from sim.scenario import schema as S


class Drafter(Protocol):
    """Drafts the single text in some worlds: gets the model's own text over the worlds ``idx`` (-1:
    none left to propose) and returns the text to table (changed only in the worlds it drafts)."""

    def draft(self, mediator: Mediator, idx: np.ndarray, pkg: np.ndarray) -> np.ndarray: ...


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
        space, R = model.space, model.replications
        sc = model.spec
        self.parties = model.parties
        est = [draw_values(space, p.spec, model.stream, ("mediator", p.pid), R) for p in self.parties]
        self.beliefs = Beliefs(model, ("mediator",), spec.learning_step, spec.informed, est=est)
        self.weights_hat = None  # per-world salience estimates, kept only when listening
        self.required = np.array([p.required for p in self.parties])  # (n, P)
        self.text = np.full(R, STATUS_QUO, dtype=np.int64)
        self.talking = np.ones(R, dtype=bool)
        self.since = np.zeros(R)  # the time talks (re)opened
        self.progress = np.zeros(R)  # the time talks (re)opened or a text was last banked
        # A person at the mediator's seat (sim.teaching.table) may draft the text in some worlds: it
        # sees the model's own text and returns the one to table.
        self.player: Drafter | None = None
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
        carrot not yet offered), near the text on the table when it has a reach (all extensions if
        none is near)."""
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
    compiled = True  # False: the readable array path below (the reference the kernel must match)

    def propose(self, idx: np.ndarray, day: np.ndarray, moment: Moment | None = None) -> np.ndarray:
        """The revised text in each world of idx; -1 where no extension is left to propose.

        Compiled, each world scans only its own candidates (``nash_pick``); the readable path
        (``propose_arrays``) evaluates a block of worlds on the union of their candidates. Both
        apply ``nash_choice``'s rule and tie-breaks to the same surpluses, so they pick the same text.
        """
        if not self.compiled or self.model.levers.carrots:  # the kernel knows no offered carrots
            return self.propose_arrays(idx, day)
        model, space = self.model, self.model.space
        return nash_pick(
            idx,
            model.inforce[idx],
            self.text[idx],
            -1 if self.spec.reach is None else self.spec.reach,
            space.memo("packages:int64", lambda: space.packages.astype(np.int64)),
            *space.memo("sizes, strides", lambda: index_strides(space)),
            space.negotiable,
            self.required,
            space.truce,
            space.rebuild,
            self.beliefs.tables["weighted"],  # every party's estimates side by side: each
            self.beliefs.tables["inter"],  # party's Values holds a view of its own row
            space.term_columns,
            space.tied_terms,
            *model.stacked_coefficients(self.est, idx, None, moment),
            np.zeros((idx.size, len(self.parties))),  # no bonus: a carrot is an option, in the terms
            self.believed_margin(idx, day),
        )

    def propose_arrays(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """``propose`` as array operations over blocks of worlds (the reference path)."""
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

    def learn(self, *answers: Any) -> None:
        """Update the beliefs from the public answers to the texts (``Beliefs.learn``'s arguments)."""
        self.beliefs.learn(*answers)

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
        self.est[i].weighted[rows] = weigh(self.weights_hat[rows, i], values)

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


def index_strides(space) -> tuple[np.ndarray, np.ndarray]:
    """(K,) each issue's number of options and its stride in the package index (row-major)."""
    sizes = np.array([len(o) for o in space.options], dtype=np.int64)
    return sizes, np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]]).astype(np.int64)


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


@kernel
def nash_pick(
    rows, inforce, text, reach, packages, sizes, strides, negotiable, required, truce, rebuild,
    weighted, inter, columns, tied, frac, const, per_rebuild, bonus, margin,
):  # fmt: skip
    """Kernel of ``Mediator.propose``: for each world k (``rows[k]`` of the tables), the package
    ``nash_choice`` picks, among that world's own candidates only.

    Candidates are ``Mediator.candidates``: negotiable packages that keep every option banked in
    ``inforce[k]`` or raise it, other than it; with ``reach >= 0``, those within ``reach`` issue
    changes of ``text[k]`` if there are any (for a reach up to 2 they are enumerated from the text,
    ``sizes`` and ``strides`` (K,) giving each issue's options and place in the package index).
    A party's estimated surplus is its value (its terms from ``weighted`` (n, R, J) and ``inter``
    (n, P), summed per package by ``term_value`` over ``columns`` and ``tied``; the per-option
    ``frac`` (r, O), ``const`` and ``per_rebuild`` (r, n, O), see ``Values.coefficients``) over
    what is in force, plus ``bonus`` (r, n), less the believed ``margin`` (r, n): the same
    operations in the same order as the array path. Ties go as in ``nash_choice``: the larger total
    surplus, then the lower index.
    """
    n, n_pkgs, n_issues = weighted.shape[0], packages.shape[0], packages.shape[1]
    out = np.full(rows.size, -1, dtype=np.int64)
    here_value = np.empty(n)
    cand = np.empty(n_pkgs, dtype=np.int64)
    for k in range(rows.size):
        row, here, tabled = rows[k], inforce[k], text[k]
        count = 0
        if 0 <= reach <= 2:  # the text itself, then every text one change away, then two
            for a in range(-1, n_issues):
                for b in range(a + 1 if a >= 0 else -1, n_issues):
                    if (a >= 0) + (b >= 0) > reach:
                        continue
                    for oa in range(sizes[a] if a >= 0 else 1):
                        if a >= 0 and oa == packages[tabled, a]:
                            continue
                        for ob in range(sizes[b] if b >= 0 else 1):
                            if b >= 0 and ob == packages[tabled, b]:
                                continue
                            p = tabled
                            if a >= 0:
                                p += (oa - packages[tabled, a]) * strides[a]
                            if b >= 0:
                                p += (ob - packages[tabled, b]) * strides[b]
                            if p == here or not negotiable[p]:
                                continue
                            keeps = True
                            for j in range(n_issues):  # nothing banked is dropped
                                keeps = keeps and packages[p, j] >= packages[here, j]
                            if keeps:
                                cand[count] = p
                                count += 1
        elif reach > 2:
            count = _scan(packages, negotiable, here, tabled, reach, cand)
        if count == 0:  # no reach, or nothing near the text: every extension
            count = _scan(packages, negotiable, here, tabled, n_issues, cand)
        o = truce[here]
        for i in range(n):
            perm, held = term_value(weighted[i], inter[i], columns, tied, row, here)
            here_value[i] = perm + frac[k, o] * held + const[k, i, o] + per_rebuild[k, i, o] * rebuild[here]
        best_ok, nash_ok, total_ok = -1, -np.inf, -np.inf  # among texts all are believed to accept
        best_any, short_any, total_any = -1, -np.inf, -np.inf  # among all: least total shortfall
        for c in range(count):
            p = cand[c]
            o = truce[p]
            feasible = True
            nash, shortfall, total = 1.0, 0.0, 0.0
            for i in range(n):
                perm, held = term_value(weighted[i], inter[i], columns, tied, row, p)
                value = perm + frac[k, o] * held + const[k, i, o] + per_rebuild[k, i, o] * rebuild[p]
                s = ((value - here_value[i]) + bonus[k, i] * 1.0) - margin[k, i]
                if required[i, p]:
                    feasible = feasible and s > 0
                    nash *= s
                    shortfall += max(-s, 0.0)
                    total += s
            if feasible and _better(nash, total, p, nash_ok, total_ok, best_ok):
                best_ok, nash_ok, total_ok = p, nash, total
            if _better(-shortfall, total, p, short_any, total_any, best_any):
                best_any, short_any, total_any = p, -shortfall, total
        out[k] = best_ok if best_ok >= 0 else best_any
    return out


@kernel
def _scan(packages, negotiable, here, tabled, reach, cand):
    """Into ``cand``: every negotiable package other than ``here`` that keeps each of its options
    or raises it, within ``reach`` issue changes of ``tabled``, in order; their count."""
    count = 0
    for p in range(packages.shape[0]):
        if p == here or not negotiable[p]:
            continue
        keeps, changes = True, 0
        for j in range(packages.shape[1]):
            keeps = keeps and packages[p, j] >= packages[here, j]
            changes += packages[p, j] != packages[tabled, j]
        if keeps and changes <= reach:
            cand[count] = p
            count += 1
    return count


@kernel
def _better(primary, total, p, best_primary, best_total, best):
    """Whether package p beats the best so far: a larger primary, then a larger total, then a lower
    index (``nash_choice``'s order, whatever order the candidates come in)."""
    if best < 0:
        return True
    if primary != best_primary:
        return primary > best_primary
    if total != best_total:
        return total > best_total
    return p < best


def warm_up() -> None:
    """Compile (or load) this module's kernel on a one-package table."""
    one = np.zeros(1, dtype=np.int64)
    nash_pick(
        one, one, one, -1, np.zeros((1, 1), dtype=np.int64), one + 1, one + 1, np.zeros(1, dtype=np.bool_),
        np.zeros((1, 1), dtype=np.bool_), one, np.zeros(1), np.zeros((1, 1, 1)), np.zeros((1, 1)),
        np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.bool_),
        np.zeros((1, 1)), np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), np.zeros((1, 1)), np.zeros((1, 1)),
    )  # fmt: skip
