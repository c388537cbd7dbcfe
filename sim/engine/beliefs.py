"""What one side at the table believes of the parties, learnt from their public answers.

The mediator holds such beliefs to draft the single text; a party that may table a counter-proposal
holds its own beliefs of the others, learnt by the same rule from the same public answers.

The prior of each party's priorities, option values and daily war values is drawn from the
scenario's stated uncertainty (an independent draw per believer), so a belief is one plausible
world, not the truth. Each party is believed to ask the scenario's mean margin, shrunk by the hurt
it is believed to have taken (the same concession tactic it follows, Faratin, Sierra & Jennings
1998), plus a learned offset: a refusal raises the offset above the refused text's estimated
surplus, an acceptance caps it there (a refused text is evidence). A leaders' call (an event that
``reveal``s) gives the believer the true values and margins of that world.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim.engine.jit import kernel
from sim.engine.parties import (
    Party,
    aspirations,
    believed_aspirations,
    concession,
    days_of,
    draw_values,
    hurt,
    resource_progress,
)
from sim.engine.valuation import (
    FEW_FRONTS,
    Moment,
    Values,
    coefficients_in_order,
    compilable,
    hold_side_by_side,
    in_order_inputs,
    side_by_side,
    surplus_values,
)

# A party's tables its true margin is computed from (``Party.margin``), as a leaders' call tells it.
TRUE_MARGINS = ("pain", "tolerance", "margin0", "inverse_beta")


class Beliefs:
    """One believer's estimates of every party, as arrays over worlds.

    ``who`` keys the believer's random streams (its prior); ``own`` is the index of the believer's
    own party, whose true values it holds (None: a mediator, who is no party to the deal).
    """

    def __init__(
        self,
        model,
        who: tuple[str, ...],
        step: float,
        informed: bool,
        own: int | None = None,
        est: list[Values] | None = None,
    ):
        self.model = model
        space, R = model.space, model.replications
        self.parties = model.parties
        self.step = step
        # ``est``: priors already drawn; a party believes its own true values (a copy of its own
        # tables, so that every believer's tables are held side by side, as the kernels take them)
        self.est: list[Values] = est or [
            replace(p.values) if i == own else draw_values(space, p.spec, model.stream, (*who, p.pid), R)
            for i, p in enumerate(self.parties)
        ]
        self.own = own
        self.tables = hold_side_by_side(self.est, ("weighted", "inter", "war", "slope"))
        self.mean_margin = np.array([p.spec.margin.mean for p in self.parties])
        self.mean_tolerance = np.array([p.spec.tolerance.mean for p in self.parties])
        self.mean_inverse_beta = 1.0 / np.array([max(p.spec.concession.mean, 0.05) for p in self.parties])
        n = len(self.parties)
        self.pain_hat = np.zeros((R, n))
        self.offset = np.zeros((R, n))
        self.informed = np.full(R, informed)

    def reveal(self, rows: np.ndarray) -> None:
        """A leaders' call: the believer learns the true priorities, values and margins in rows."""
        for i, (est, party) in enumerate(zip(self.est, self.parties, strict=True)):
            if i == self.own:
                continue
            est.weighted[rows] = party.values.weighted[rows]
            est.war[rows] = party.values.war[rows]
        self.informed[rows] = True

    def feel_war(self, idx: np.ndarray, days: np.ndarray, m: np.ndarray, open_fronts: np.ndarray) -> None:
        """Track the hurt each party is believed to take (public: the fronts, the balance, pressure).
        (The readable face: compiled, the model adds every valuer's hurt by ``hurt_every``.)"""
        for i, (est, party) in enumerate(zip(self.est, self.parties, strict=True)):
            self.pain_hat[idx, i] += days * hurt(est.daily(idx, m, party.shift[idx]), open_fronts)

    def believed_margin(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """(r, n) what each party is believed to ask above what is in force, at times day (r,)."""
        informed = self.informed[idx]
        deadline = self.model.spec.calendar.deadline_day
        if Party.compiled:  # the same steps, world by world
            out = believed_aspirations(
                self.pain_hat, self.mean_tolerance, self.mean_margin, self.mean_inverse_beta, self.offset,
                np.asarray(idx, dtype=np.int64), days_of(day, idx),
                0.0 if deadline is None else float(deadline),
            )  # fmt: skip
            return self._told(out, informed, idx, day)
        progress = resource_progress(self.pain_hat[idx], self.mean_tolerance)  # every party at once
        if deadline is not None:
            progress = 1.0 - (1.0 - progress) * (1.0 - np.minimum(day / deadline, 1.0))[:, None]
        out = np.empty(progress.shape)
        for i in range(len(self.parties)):  # the power one party's column at a time (contiguous:
            column = np.ascontiguousarray(progress[:, i])  # NumPy's loops may differ on strided data)
            out[:, i] = self.mean_margin[i] * (1.0 - concession(column, self.mean_inverse_beta[i]))
        out += self.offset[idx]
        return self._told(out, informed, idx, day)

    def _told(self, out: np.ndarray, informed: np.ndarray, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The true margins, only where a leaders' call told them."""
        if informed.any():
            for i, party in enumerate(self.parties):
                out[:, i] = np.where(informed, party.margin(idx, day), out[:, i])
        return out

    def _learns_compiled(self) -> bool:
        space = self.model.space
        return (
            Values.compiled
            and Party.compiled
            and len(space.fronts) < FEW_FRONTS
            and all(v.laid_out() for v in self.est)
            and compilable(*(p.shift for p in self.parties))
        )

    def _learn_compiled(self, idx, pkg, asked, said_yes, day, moment) -> None:
        model, space = self.model, self.model.space
        m, path = model.moment_at(idx) if moment is None else moment
        rows = np.asarray(idx, dtype=np.int64)
        deadline = model.spec.calendar.deadline_day
        learnt_offsets(
            *in_order_inputs(self.est, self.parties, space, rows, m, path),
            np.ascontiguousarray(pkg, dtype=np.int64)[:, None], model.inforce[rows], space.truce,
            space.rebuild,
            self.pain_hat, self.mean_tolerance, self.mean_margin, self.mean_inverse_beta, self.offset,
            days_of(day, idx), 0.0 if deadline is None else float(deadline), self.informed,
            *side_by_side(self.parties, *TRUE_MARGINS),
            np.ascontiguousarray(asked), np.ascontiguousarray(said_yes), float(self.step),
        )  # fmt: skip

    def estimate(self, idx: np.ndarray, pkgs: np.ndarray | None, moment: Moment | None = None) -> np.ndarray:
        """(r, n, C) estimated surplus of each party for packages (r, C; None: all) over what is in
        force (``moment``: the model's ``moment_at(idx)``, when already computed)."""
        return self.model.surpluses(self.est, self.parties, idx, pkgs, moment)

    def learn(
        self,
        idx: np.ndarray,
        pkg: np.ndarray,
        asked: np.ndarray,
        said_yes: np.ndarray,
        day: np.ndarray,
        moment: Moment | None = None,
    ) -> None:
        """Update offsets from the public answers (r, n) to the texts pkg (r,) (``moment``: the
        expected path at this moment, shared by every learner). Compiled, in one call
        (``learnt_offsets``) where every sum over fronts is in order (``coefficients_in_order``)."""
        if self._learns_compiled():
            self._learn_compiled(idx, pkg, asked, said_yes, day, moment)
            return
        est = self.estimate(idx, pkg[:, None], moment)[:, :, 0]  # (r, n)
        base = self.believed_margin(idx, day) - self.offset[idx]
        gap = est - base  # the offset at which the answer would have been a toss-up
        off = self.offset[idx]
        raised = np.maximum(off, gap + self.step)
        capped = np.minimum(off, gap)
        self.offset[idx] = np.where(asked, np.where(said_yes, capped, raised), off)


@kernel
def least(a, b):  # fmt: skip
    """``np.minimum`` of two floats as NumPy's loops compute it: nan if either is nan, else the
    smaller, the second where they compare equal (so the minimum of +0.0 and -0.0 is -0.0)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a < b else b


@kernel
def most(a, b):  # fmt: skip
    """``np.maximum`` of two floats as NumPy's loops compute it (see ``least``)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a > b else b


@kernel
def learnt_offsets(
    stack, m, war, shift, rows, open_by_option, b_open, b_all, closes, weighted, inter, columns, tied, ww,
    pkg, here, truce, rebuild, pain_hat, mean_tolerance, mean_margin, mean_inverse_beta, offset, day,
    deadline, informed, pain, tolerance, margin0, inverse_beta, asked, said_yes, step,
):  # fmt: skip
    """Kernel of ``Beliefs.learn``: the believer's estimated surplus of each text ``pkg[k, 0]``
    over ``here[k]`` for every party (``coefficients_in_order``, then ``surplus_values``), the
    margins it believes they ask (``believed_aspirations``; the true ones, ``aspirations``, where a
    leaders' call ``informed`` it), and each asked party's offset raised above the text's estimated
    surplus (a refusal, by ``step``) or capped there (an acceptance), in ``offset`` in place; the
    same kernels and operations as the readable path, so the same bits (``np.minimum`` and
    ``np.maximum`` as ``least`` and ``most``)."""
    const, per_rebuild = coefficients_in_order(
        stack, m, war, shift, rows, open_by_option, b_open, b_all, closes, weighted, inter, columns, tied, ww
    )
    est = surplus_values(
        weighted, inter, columns, tied, rows, pkg, here, truce, rebuild, stack[2], const, per_rebuild
    )
    believed = believed_aspirations(
        pain_hat, mean_tolerance, mean_margin, mean_inverse_beta, offset, rows, day, deadline
    )
    told = False
    for k in range(rows.size):
        told = told or informed[rows[k]]
    if told:
        for i in range(len(pain)):
            true = aspirations(pain[i], tolerance[i], margin0[i], inverse_beta[i], rows, day, deadline)
            for k in range(rows.size):
                if informed[rows[k]]:
                    believed[k, i] = true[k]
    for k in range(rows.size):
        r = rows[k]
        for i in range(believed.shape[1]):
            if not asked[k, i]:
                continue
            off = offset[r, i]
            gap = est[k, i, 0] - (believed[k, i] - off)  # the offset at which the answer is a toss-up
            offset[r, i] = least(off, gap) if said_yes[k, i] else most(off, gap + step)


def warm_up() -> None:
    """Compile (or load) this module's kernel: one version for any number of parties."""
    one, row, first = np.zeros((1, 1)), np.zeros(1), np.zeros(1, dtype=np.int64)
    cols, no, three = np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.bool_), np.zeros((1, 1, 1))
    ones = np.ones(1)
    learnt_offsets(
        np.zeros((10, 1, 1)), row, three, three, first, one, one, row, no, three, one, cols, no, row, cols,
        first, first, row, one, ones, ones, ones, one, row, 0.0, no, one, ones[None], one, ones[None],
        np.zeros((1, 1), dtype=np.bool_), np.zeros((1, 1), dtype=np.bool_), 0.02,
    )  # fmt: skip
