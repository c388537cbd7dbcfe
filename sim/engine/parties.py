"""The negotiators: parties and the veto players who ratify for them.

Each agent holds its state as NumPy arrays over replications (one possible world per row), so one
model instance plays R negotiations in lockstep. Methods take ``idx``, the rows still negotiating.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.scenario import schema as S


def draw(rng: np.random.Generator, param: S.Uncertain, n: int) -> np.ndarray:
    """One value per world from the parameter's normal distribution (exact when sd = 0)."""
    if param.sd == 0:
        return np.full(n, param.mean)
    return rng.normal(param.mean, param.sd, n)


def draw_weights(rng: np.random.Generator, mean: np.ndarray, concentration: float, n: int) -> np.ndarray:
    """Salience weights per world: Dirichlet around the stated weights (sum 1 in each row)."""
    if concentration == 0:
        return np.broadcast_to(mean, (n, mean.size)).copy()
    alpha = np.maximum(mean * concentration, 1e-9)
    g = rng.gamma(alpha, size=(n, mean.size))
    return g / g.sum(axis=1, keepdims=True)


def concession_progress(t: int, rounds: int, inverse_beta: np.ndarray) -> np.ndarray:
    """How far along its concession curve a party is in round t, in [0, 1].

    Polynomial time-dependent tactic of Faratin, Sierra & Jennings (1998): alpha(t) = (t/T)^(1/beta).
    beta < 1 is Boulware (holds firm until the deadline nears), beta > 1 is Conceder. Takes 1/beta,
    which a party computes once.
    """
    frac = 0.0 if rounds <= 1 else (t - 1) / (rounds - 1)
    return np.power(frac, inverse_beta)


def party_tables(space, spec: S.Party) -> tuple[np.ndarray, ...]:
    """What a party's utility needs, per package: values (K, P), interactions, red lines, consent."""
    return (
        space.value_matrix(spec),
        space.interaction_vector(spec),
        space.red_line_mask(spec),
        space.required_mask(spec),
        space.weights(spec),
    )


class Party(mesa.Agent):
    """A negotiating party with linear-additive utility over issues plus interaction terms.

    Utility u(p) = sum_k w_k v_k(p_k) + sum of interaction terms p triggers. Interactions carry the
    commitment problem (Fearon 1995): a truce that leaves the other side free to rearm is worth less
    than its parts. The party accepts a package that clears its aspiration and touches no red line;
    its aspiration falls from its opening level toward its reservation value (its BATNA) along a
    time-dependent concession curve (Faratin, Sierra & Jennings 1998).
    """

    def __init__(self, model: mesa.Model, pid: str, spec: S.Party) -> None:
        super().__init__(model)
        space, n, stream = model.space, model.replications, model.stream
        self.pid, self.spec = pid, spec
        self.V, self.inter, self.red, self.required, self.mean_weights = space.memo(
            f"party:{pid}", lambda: party_tables(space, spec)
        )
        conc = model.spec.uncertainty.weight_concentration
        self.W = draw_weights(stream("party", pid, "weights"), self.mean_weights, conc, n)  # (R, K)
        self.reservation0 = draw(stream("party", pid, "reservation"), spec.reservation, n)
        self.opening = np.maximum(draw(stream("party", pid, "opening"), spec.opening, n), self.reservation0)
        self.beta = np.maximum(draw(stream("party", pid, "concession"), spec.concession, n), 0.05)
        self.inverse_beta = 1.0 / self.beta
        war = spec.war or S.War(assumption="untouched by the war")
        self.exposure, self.cost = war.momentum_exposure, war.cost_per_round
        # Shifts that accumulate over the talks: levers (sticks) and events move the BATNA,
        # carrots add to the value of any deal.
        self.shift = np.zeros(n)
        self.bonus = np.zeros(n)
        self.gap = self.opening - self.reservation0
        self.reservation = self.reservation0.copy()
        self.aspiration = self.opening.copy()

    def update_position(self, t: int, idx: np.ndarray, momentum: np.ndarray) -> None:
        """Move the BATNA with the battlefield and the cost of war, then the aspiration with it."""
        res = self.reservation0[idx] + self.exposure * momentum - self.cost * (t - 1) + self.shift[idx]
        progress = concession_progress(t, self.model.spec.rounds, self.inverse_beta[idx])
        self.reservation[idx] = res
        self.aspiration[idx] = res + self.gap[idx] * (1.0 - progress)

    def tabulate(self, packages: np.ndarray) -> None:
        """Precompute u(p) in every world for the packages that can be put on the table."""
        self.column = np.full(self.V.shape[1], -1, dtype=np.int64)
        self.column[packages] = np.arange(packages.size)
        self.U = self.W @ self.V[:, packages] + self.inter[packages]  # (R, C)

    def utility(self, pkg: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """u(p) in the worlds idx, for one package per world."""
        col = self.column[pkg]
        if (col >= 0).all():
            return self.U[idx, col]
        return np.einsum("rk,kr->r", self.W[idx], self.V[:, pkg]) + self.inter[pkg]

    def respond(self, pkg: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Accept iff the package (plus any carrot) clears the aspiration and crosses no red line."""
        u = self.utility(pkg, idx)
        offered = u + self.bonus[idx] if self.bonus.any() else u  # carrots, where any were given
        return (offered >= self.aspiration[idx]) & ~self.red[pkg], u

    def demand(self, pkg: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """The single-issue change this party values most (a move index), -1 if none helps."""
        space = self.model.space
        out = np.empty(idx.size, dtype=np.int64)
        for p in np.unique(pkg):  # few distinct packages are on the table in any round
            rows = pkg == p
            nb = space.neighbours[p]  # (M,)
            raw = self.W[idx[rows]] @ self.V[:, nb] + self.inter[nb]  # (r, M)
            u = np.where(self.red[nb], -np.inf, raw)
            if self.red[p]:  # on a red line, any move off it is progress: rank moves by utility
                best = np.argmax(u, axis=1)
                helps = np.isfinite(u[np.arange(best.size), best])
            else:
                gain = u - raw[:, [space.stay[p]]]
                best = np.argmax(gain, axis=1)
                helps = gain[np.arange(best.size), best] > 1e-12
            out[rows] = np.where(helps, best, -1)
        return out


class VetoPlayer(mesa.Agent):
    """A domestic constituency whose party must bring the deal home.

    Putnam (1988) two-level games: an agreement at the table (level I) must be ratified at home
    (level II). The hardliners ratify with a probability that rises with their own utility of the
    deal: logistic((u_h - threshold) / slope), u_h using their own salience, and their own option
    values where given (else the party's).
    """

    def __init__(self, model: mesa.Model, party: Party, spec: S.VetoPlayer) -> None:
        super().__init__(model)
        self.party, self.spec = party, spec
        space = model.space
        w = np.array([spec.weights.get(i, 0.0) for i in space.issues])
        V = party.V.copy()
        for issue, values in spec.values.items():  # where the hardliners value options differently
            V[space.issues.index(issue)] = space.option_values(issue, values)
        self.u = w @ V + party.inter  # (P,)
        stream = model.stream("veto", party.pid, "threshold")
        self.threshold = draw(stream, spec.threshold, model.replications)

    def ratify(self, pkg: np.ndarray, idx: np.ndarray, luck: np.ndarray) -> np.ndarray:
        """True where the hardliners let the deal stand, given uniform draws ``luck``."""
        z = (self.u[pkg] - self.threshold[idx]) / self.spec.slope
        return luck < 1.0 / (1.0 + np.exp(-z))
