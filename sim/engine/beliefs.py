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

import numpy as np

from sim.engine.parties import (
    Party,
    believed_aspirations,
    concession,
    days_of,
    draw_values,
    feel_hurt,
    hurt,
    resource_progress,
)
from sim.engine.valuation import Moment, Values


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
        # ``est``: priors already drawn (the mediator keeps its tables side by side for its kernel)
        self.est: list[Values] = est or [
            p.values if i == own else draw_values(space, p.spec, model.stream, (*who, p.pid), R)
            for i, p in enumerate(self.parties)
        ]
        self.mean_margin = np.array([p.spec.margin.mean for p in self.parties])
        self.mean_tolerance = np.array([p.spec.tolerance.mean for p in self.parties])
        self.mean_inverse_beta = 1.0 / np.array([max(p.spec.concession.mean, 0.05) for p in self.parties])
        n = len(self.parties)
        self.pain_hat = np.zeros((R, n))
        self.offset = np.zeros((R, n))
        self.informed = np.full(R, informed)

    def reveal(self, rows: np.ndarray) -> None:
        """A leaders' call: the believer learns the true priorities, values and margins in rows."""
        for est, party in zip(self.est, self.parties, strict=True):
            if est is party.values:
                continue
            est.weighted[rows] = party.values.weighted[rows]
            est.war[rows] = party.values.war[rows]
        self.informed[rows] = True

    def hurts(self) -> list[tuple[np.ndarray, int, Values, np.ndarray]]:
        """What ``feel_war`` adds to, as ``hurt_every`` takes it: (pain table, column, values, shift)."""
        return [
            (self.pain_hat, i, est, party.shift)
            for i, (est, party) in enumerate(zip(self.est, self.parties, strict=True))
        ]

    def feel_war(self, idx: np.ndarray, days: np.ndarray, m: np.ndarray, open_fronts: np.ndarray) -> None:
        """Track the hurt each party is believed to take (public: the fronts, the balance, pressure)."""
        for i, (est, party) in enumerate(zip(self.est, self.parties, strict=True)):
            if not feel_hurt(self.pain_hat, i, est, party.shift, idx, days, m, open_fronts):
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
        expected path at this moment, shared by every learner)."""
        est = self.estimate(idx, pkg[:, None], moment)[:, :, 0]  # (r, n)
        base = self.believed_margin(idx, day) - self.offset[idx]
        gap = est - base  # the offset at which the answer would have been a toss-up
        off = self.offset[idx]
        raised = np.maximum(off, gap + self.step)
        capped = np.minimum(off, gap)
        self.offset[idx] = np.where(asked, np.where(said_yes, capped, raised), off)
