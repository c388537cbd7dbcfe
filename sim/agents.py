"""The negotiators: parties, the veto players who ratify for them, and the mediator.

Each agent holds its state as NumPy arrays over replications (one possible world per row), so one
model instance plays R negotiations in lockstep. Methods take ``idx``, the rows still negotiating.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import scenario as S

if TYPE_CHECKING:
    from sim.model import NegotiationModel


def draw(rng: np.random.Generator, param: S.Uncertain, n: int) -> np.ndarray:
    """One value per replication from the parameter's normal distribution (exact when sd = 0)."""
    if param.sd == 0:
        return np.full(n, param.mean)
    return rng.normal(param.mean, param.sd, n)


def draw_weights(rng: np.random.Generator, mean: np.ndarray, concentration: float, n: int):
    """Salience weights per replication: Dirichlet around the stated weights (sum 1 in each row)."""
    if concentration == 0:
        return np.broadcast_to(mean, (n, mean.size)).copy()
    alpha = np.maximum(mean * concentration, 1e-9)
    g = rng.gamma(alpha, size=(n, mean.size))
    return g / g.sum(axis=1, keepdims=True)


def concession_progress(t: int, rounds: int, beta: np.ndarray) -> np.ndarray:
    """How far along its concession curve a party is in round t, in [0, 1].

    Polynomial time-dependent tactic of Faratin, Sierra & Jennings (1998): alpha(t) = (t/T)^(1/beta).
    beta < 1 is Boulware (holds firm until the deadline nears), beta > 1 is Conceder.
    """
    frac = 0.0 if rounds <= 1 else (t - 1) / (rounds - 1)
    return np.power(frac, 1.0 / beta)


class Party(mesa.Agent):
    """A negotiating party with linear-additive utility over issues plus interaction terms.

    Utility u(p) = sum_k w_k v_k(p_k) + sum of interaction terms p triggers. Interactions carry the
    commitment problem (Fearon 1995): a truce that leaves the other side free to rearm is worth less
    than its parts. The party accepts a package that clears its aspiration and touches no red line;
    its aspiration falls from its opening level toward its reservation value (its BATNA) along a
    time-dependent concession curve (Faratin, Sierra & Jennings 1998).
    """

    def __init__(self, model: NegotiationModel, pid: str, spec: S.Party) -> None:
        super().__init__(model)
        space, n, rng = model.space, model.replications, model.rng
        self.pid, self.spec = pid, spec
        self.V = space.value_matrix(spec)  # (K, P)
        self.inter = space.interaction_vector(spec)  # (P,)
        self.red = space.red_line_mask(spec)  # (P,)
        self.required = space.required_mask(spec)  # (P,)
        self.mean_weights = space.weights(spec)
        conc = model.spec.uncertainty.weight_concentration
        self.W = draw_weights(rng, self.mean_weights, conc, n)  # (R, K)
        self.reservation0 = draw(rng, spec.reservation, n)
        self.opening = np.maximum(draw(rng, spec.opening, n), self.reservation0)
        self.beta = np.maximum(draw(rng, spec.concession, n), 0.05)
        war = spec.war or S.War(assumption="untouched by the war")
        self.exposure, self.cost = war.momentum_exposure, war.cost_per_round
        # Shifts that accumulate over the talks: levers (sticks) and events move the BATNA,
        # carrots add to the value of any deal.
        self.shift = np.zeros(n)
        self.bonus = np.zeros(n)
        self.reservation = self.reservation0.copy()
        self.aspiration = self.opening.copy()

    def update_position(self, t: int, momentum: np.ndarray) -> None:
        """Move the BATNA with the battlefield and the cost of war, then the aspiration with it."""
        self.reservation = self.reservation0 + self.exposure * momentum - self.cost * (t - 1) + self.shift
        gap = self.opening - self.reservation0
        progress = concession_progress(t, self.model.spec.rounds, self.beta)
        self.aspiration = self.reservation + gap * (1.0 - progress)

    def utility(self, pkg: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """u(p) in the worlds idx, for one package per world."""
        return np.einsum("rk,kr->r", self.W[idx], self.V[:, pkg]) + self.inter[pkg]

    def respond(self, pkg: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Accept iff the package (plus any carrot) clears the aspiration and crosses no red line."""
        u = self.utility(pkg, idx)
        accept = (u + self.bonus[idx] >= self.aspiration[idx]) & ~self.red[pkg]
        return accept, u

    def demand(self, pkg: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """The single-issue change this party values most (a move index), -1 if none helps."""
        nb = self.model.space.neighbours[pkg]  # (r, M)
        u_nb = np.einsum("rk,krm->rm", self.W[idx], self.V[:, nb]) + self.inter[nb]
        u_nb[self.red[nb]] = -np.inf
        gain = u_nb - self.utility(pkg, idx)[:, None]
        best = np.argmax(gain, axis=1)
        return np.where(gain[np.arange(len(idx)), best] > 1e-12, best, -1)


class VetoPlayer(mesa.Agent):
    """A domestic constituency whose party must bring the deal home.

    Putnam (1988) two-level games: an agreement at the table (level I) must be ratified at home
    (level II). The hardliners ratify with a probability that rises with their own utility of the
    deal: logistic((u_h - threshold) / slope), u_h using their salience over the party's values.
    """

    def __init__(self, model: NegotiationModel, party: Party, spec: S.VetoPlayer) -> None:
        super().__init__(model)
        self.party, self.spec = party, spec
        w = np.array([spec.weights.get(i, 0.0) for i in model.space.issues])
        self.u = w @ party.V + party.inter  # (P,)
        self.threshold = draw(model.rng, spec.threshold, model.replications)

    def ratify(self, pkg: np.ndarray, idx: np.ndarray, luck: np.ndarray) -> np.ndarray:
        """True where the hardliners let the deal stand, given uniform draws ``luck``."""
        z = (self.u[pkg] - self.threshold[idx]) / self.spec.slope
        return luck < 1.0 / (1.0 + np.exp(-z))


class Mediator(mesa.Agent):
    """The mediator proposes a single negotiating text each round (Raiffa 1982).

    It picks the package that maximises the Nash (1950) product of the parties' estimated surpluses
    over its beliefs of their thresholds; if no package clears them all, the least-infeasible one
    (smallest total shortfall). Ties go to the larger total surplus, then to the lower index.
    It estimates utilities with the stated (mean) weights, and believes each party's threshold
    follows the public concession curve plus a learned offset: a rejection raises the offset above
    the rejected package, an acceptance caps it. Beliefs rest only on public history, so many worlds
    share a belief row and each distinct row is solved once. A leaders' summit can reveal the true
    thresholds of a world (``reveal``), after which the mediator uses them there.
    """

    def __init__(self, model: NegotiationModel, spec: S.Mediator) -> None:
        super().__init__(model)
        self.spec = spec
        parties, space = model.parties, model.space
        n = len(parties)
        self.U_hat = np.array([p.mean_weights @ p.V + p.inter for p in parties])  # (n, P)
        self.required = np.array([p.required for p in parties])  # (n, P)
        self.candidates = self._frontier(space, parties)
        self.public = self._public_curve(model)  # (T+1, n)
        self.offset = np.zeros((model.replications, n))
        self.informed = np.full(model.replications, spec.informed)

    def _frontier(self, space, parties) -> np.ndarray:
        """Proposable packages: deals crossing no known red line, Pareto-undominated in U_hat.

        The Nash maximiser and the least-infeasible package both lie on this frontier (within a
        group of packages needing the same consents), so restricting the search is exact.
        """
        ok = space.package_class >= 0
        for p in parties:
            ok &= ~p.red
        keep = []
        groups: dict[bytes, list[int]] = {}
        for j in np.flatnonzero(ok):
            groups.setdefault(self.required[:, j].tobytes(), []).append(j)
        for members in groups.values():
            m = np.array(members)
            u = self.U_hat[:, m].T  # (g, n)
            ge = (u[:, None, :] >= u[None, :, :]).all(-1)
            gt = (u[:, None, :] > u[None, :, :]).any(-1)
            dominated = (ge & gt).any(axis=0)
            keep.extend(m[~dominated])
        return np.array(sorted(keep), dtype=np.int64)

    def _public_curve(self, model: NegotiationModel) -> np.ndarray:
        """Each party's threshold as the public sees it: mean parameters, expected momentum."""
        T, mom = model.spec.rounds, model.spec.dynamics.momentum
        out = np.zeros((T + 1, len(model.parties)))
        m = mom.initial
        for t in range(1, T + 1):
            m = m + mom.drift - mom.reversion * m
            for i, p in enumerate(model.parties):
                s = p.spec
                res = s.reservation.mean + p.exposure * m - p.cost * (t - 1)
                gap = max(s.opening.mean - s.reservation.mean, 0.0)
                prog = concession_progress(t, T, np.array(max(s.concession.mean, 0.05)))
                out[t, i] = res + gap * (1.0 - prog)
        return out

    def beliefs(self, t: int, idx: np.ndarray) -> np.ndarray:
        """(r, n) the mediator's estimate of each party's threshold in each world."""
        b = self.public[t] + self.offset[idx]
        known = self.informed[idx]
        if known.any():
            truth = np.stack([p.aspiration[idx] - p.bonus[idx] for p in self.model.parties], 1)
            b[known] = truth[known]
        return b

    def propose(self, t: int, idx: np.ndarray) -> np.ndarray:
        """One package per world in idx: solve each distinct belief row once."""
        b = self.beliefs(t, idx)
        rows, inverse = np.unique(b, axis=0, return_inverse=True)
        return self.candidates[self._solve(rows)][inverse.ravel()]

    def _solve(self, rows: np.ndarray) -> np.ndarray:
        """Index into candidates of the best package for each belief row (G, n)."""
        C = self.candidates
        surplus = self.U_hat[:, C][None] - rows[:, :, None]  # (G, n, C)
        req = self.required[:, C][None]
        feasible = np.where(req, surplus > 0, True).all(axis=1)  # (G, C)
        nash = np.where(req, np.maximum(surplus, 0.0), 1.0).prod(axis=1)
        shortfall = np.where(req, np.maximum(-surplus, 0.0), 0.0).sum(axis=1)
        total = np.where(req, surplus, 0.0).sum(axis=1)
        any_ok = feasible.any(axis=1, keepdims=True)
        primary = np.where(any_ok, np.where(feasible, nash, -np.inf), -shortfall)
        best = primary == primary.max(axis=1, keepdims=True)
        secondary = np.where(best, total, -np.inf)
        best &= secondary == secondary.max(axis=1, keepdims=True)
        return np.argmax(best, axis=1)

    def learn(self, t: int, idx: np.ndarray, pkg: np.ndarray, accepted: np.ndarray) -> None:
        """Update offsets from the public responses (n, r) to the proposals pkg in worlds idx."""
        gap = self.U_hat[:, pkg].T - self.public[t]  # (r, n)
        asked = self.required[:, pkg].T
        off = self.offset[idx]
        step = self.spec.learning_step
        rejected = asked & ~accepted.T
        off = np.where(rejected, np.maximum(off, gap + step), off)
        off = np.where(asked & accepted.T, np.minimum(off, gap), off)
        self.offset[idx] = off
