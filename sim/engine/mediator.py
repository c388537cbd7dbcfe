"""The mediator: a single negotiating text revised toward the Nash bargaining solution.

Raiffa (1982) single negotiating text; Nash (1950) bargaining product over estimated surpluses.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.engine.parties import concession_progress
from sim.scenario import schema as S

# Odd 64-bit multipliers for hashing belief states (see Mediator.states).
_HASH = np.random.default_rng(0x6E6567).integers(1, 2**63, 4096, dtype=np.uint64) | np.uint64(1)


class Mediator(mesa.Agent):
    """The mediator keeps a single negotiating text and revises it each round (Raiffa 1982).

    It proposes the package that maximises the Nash (1950) product of the parties' estimated
    surpluses over its beliefs of their thresholds; if no package clears them all, the
    least-infeasible one (smallest total shortfall). Ties go to the larger total surplus, then to
    the lower index. With ``reach = k`` the revision stays within k issue changes of the text on the
    table, so the opening proposal anchors the talks; without it the mediator searches every package.

    It estimates utilities with the stated (mean) weights; with ``listening > 0`` it also takes each
    demand as a sign of salience and raises its estimate of the demanded issue's weight for that
    party by that factor, as a single-text mediator revises from the parties' criticisms. It
    believes each party's threshold
    follows the public concession curve plus a learned offset: a rejection raises the offset above
    the rejected package, an acceptance caps it. A leaders' summit can reveal the true thresholds of
    a world (``reveal``), after which the mediator uses them there.

    Beliefs and texts rest only on public history (proposals and answers), so many worlds share a
    belief state; each distinct state is solved once.
    """

    MEMORY = 100_000  # answers kept per process before the cache starts afresh

    def __init__(self, model: mesa.Model, spec: S.Mediator) -> None:
        super().__init__(model)
        self.spec = spec
        space = model.space
        self.U_hat, self.required, self.proposable, self.public = space.memo(
            "mediator", lambda: self._tables(model)
        )
        self.solved: dict[bytes, int] = space.memo("mediator:solved", dict)
        self.searches: dict[int, tuple] = space.memo("mediator:searches", dict)
        R, n = model.replications, len(model.parties)
        self.offset = np.zeros((R, n))
        self.informed = np.full(R, spec.informed)
        self.text = np.full(R, -1, dtype=np.int64)  # the text on the table; -1 before any
        self.listening = spec.listening > 0
        if self.listening:
            parties = model.parties
            self.V = np.stack([p.V for p in parties])  # (n, K, P)
            self.inter = np.stack([p.inter for p in parties])  # (n, P)
            self.W_hat = np.repeat(np.stack([p.mean_weights for p in parties])[None], R, axis=0)

    @staticmethod
    def _tables(model: mesa.Model) -> tuple[np.ndarray, ...]:
        parties, space = model.parties, model.space
        U_hat = np.array([p.mean_weights @ p.V + p.inter for p in parties])  # (n, P)
        required = np.array([p.required for p in parties])  # (n, P)
        ok = space.package_class >= 0
        for p in parties:
            ok &= ~p.red
        allowed = np.flatnonzero(ok)
        if model.spec.mediator.reach is None and model.spec.mediator.listening == 0:
            allowed = pareto_frontier(allowed, U_hat, required)
        return U_hat, required, allowed, Mediator._public_curve(model)

    @staticmethod
    def _public_curve(model: mesa.Model) -> np.ndarray:
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
                prog = concession_progress(t, T, 1.0 / np.array(max(s.concession.mean, 0.05)))
                out[t, i] = res + gap * (1.0 - prog)
        return out

    def search_space(self, text: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Candidates near ``text`` (all proposable ones if -1 or no reach), their U_hat, consents."""
        if text not in self.searches:
            cand = self.proposable
            reach = self.spec.reach
            if reach is not None and text >= 0:
                packages = self.model.space.packages
                changes = (packages[cand] != packages[text]).sum(axis=1)
                if (changes <= reach).any():  # else the text is far from any deal: search them all
                    cand = cand[changes <= reach]
                    if not self.listening:  # with fixed estimates the frontier holds the answer
                        cand = pareto_frontier(cand, self.U_hat, self.required)
            req = self.required[:, cand]
            self.searches[text] = (cand, self.U_hat[:, cand], None if req.all() else req)
        return self.searches[text]

    def propose(self, t: int, idx: np.ndarray) -> np.ndarray:
        """One package per world in idx; worlds in the same belief state share the answer."""
        out = np.empty(idx.size, dtype=np.int64)
        known = self.informed[idx]
        public = idx[~known]
        first, group = self.states(public)
        reps = public[first]
        weights = self.W_hat[reps] if self.listening else None
        out[~known] = self.solve(self.public[t] + self.offset[reps], self.text[reps], weights)[group]
        if known.any():
            rows = idx[known]
            truth = np.stack([p.aspiration[rows] - p.bonus[rows] for p in self.model.parties], 1)
            out[known] = self.solve(truth, self.text[rows], self.W_hat[rows] if self.listening else None)
        return out

    def states(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Group worlds by belief state: offsets, salience estimates, and the text on the table.

        Returns a representative position per group and each world's group. Worlds are grouped by
        a 64-bit hash of the state, then checked for exact equality (a collision falls back to a
        row-wise unique), so grouping never merges different states.
        """
        parts = [self.offset[rows]]
        if self.listening:
            parts.append(self.W_hat[rows].reshape(rows.size, -1 if rows.size else self.W_hat[0].size))
        if self.spec.reach is not None:
            parts.append(self.text[rows, None].astype(np.float64))
        state = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        key = (state.view(np.uint64) * _HASH[: state.shape[1]]).sum(axis=1, dtype=np.uint64)
        _, first, group = np.unique(key, return_index=True, return_inverse=True)
        group = group.ravel()
        if (state == state[first][group]).all():
            return first, group
        _, first, group = np.unique(state, axis=0, return_index=True, return_inverse=True)
        return first, group.ravel()

    def see_levers(self, levers, idx: np.ndarray, fired: list[np.ndarray]) -> None:
        """Pressure is public: a stick lowers the target's threshold, a carrot the price of a deal."""
        for spec, target, hit in zip(levers.specs, levers.targets, fired, strict=True):
            if spec.strength > 0 and hit.any():
                self.offset[idx[hit], self.model.index[target.pid]] -= spec.strength

    def table(self, idx: np.ndarray, pkg: np.ndarray) -> None:
        """The package just proposed becomes the text that later revisions start from."""
        self.text[idx] = pkg

    def solve(self, rows: np.ndarray, texts: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """The package to propose for each belief row (G, n), text and salience estimate (G, n, K).

        Each distinct state is solved once per process (the answers are shared between chunks).
        """
        if self.spec.reach is None:
            texts = np.full(len(rows), -1, dtype=np.int64)
        salience = [b""] * len(rows) if weights is None else [w.tobytes() for w in weights]
        keys = [
            r.tobytes() + int(x).to_bytes(8, "little", signed=True) + w
            for r, x, w in zip(rows, texts, salience, strict=True)
        ]
        if len(self.solved) > self.MEMORY:  # bound the memory of a long run; answers are recomputed
            self.solved.clear()
        todo = np.array([g for g, k in enumerate(keys) if k not in self.solved], dtype=np.int64)
        if todo.size:
            for text in np.unique(texts[todo]):
                group = todo[texts[todo] == text]
                cand, U, req = self.search_space(int(text))
                if weights is not None:  # utilities under each state's own salience estimates
                    U = np.einsum("gnk,nkc->gnc", weights[group], self.V[:, :, cand]) + self.inter[:, cand]
                for g, b in zip(group, cand[nash_choice(rows[group], U, req)], strict=True):
                    self.solved[keys[g]] = int(b)
        return np.array([self.solved[k] for k in keys], dtype=np.int64)

    def estimate(self, idx: np.ndarray, pkg: np.ndarray) -> np.ndarray:
        """(r, n) the mediator's estimate of each party's utility of the package in each world."""
        if not self.listening:
            return self.U_hat[:, pkg].T
        return np.einsum("rnk,nkr->rn", self.W_hat[idx], self.V[:, :, pkg]) + self.inter[:, pkg].T

    def listen(self, idx: np.ndarray, demands: np.ndarray) -> None:
        """A demand (n, r; move index or -1) marks its issue as salient to the party that made it."""
        if not self.listening:
            return
        issue_of = np.array([k for k, _ in self.model.space.moves])
        for i in range(demands.shape[0]):
            said = demands[i] >= 0
            if said.any():
                rows, k = idx[said], issue_of[demands[i, said]]
                self.W_hat[rows, i, k] *= 1.0 + self.spec.listening
                self.W_hat[rows, i] /= self.W_hat[rows, i].sum(axis=1, keepdims=True)

    def learn(self, t: int, idx: np.ndarray, pkg: np.ndarray, accepted: np.ndarray) -> None:
        """Update offsets from the public answers (n, r) to the proposals pkg in worlds idx."""
        gap = self.estimate(idx, pkg) - self.public[t]  # (r, n)
        asked = self.required[:, pkg].T
        said_yes = accepted.T
        off = self.offset[idx]
        raised = np.maximum(off, gap + self.spec.learning_step)  # a no: the threshold is above
        capped = np.minimum(off, gap)  # a yes: the threshold is at most here
        self.offset[idx] = np.where(asked, np.where(said_yes, capped, raised), off)


def pareto_frontier(packages: np.ndarray, U: np.ndarray, required: np.ndarray) -> np.ndarray:
    """The packages not Pareto-dominated in U (n, P) by another needing the same consents.

    The Nash maximiser and the least-infeasible package both lie on this frontier, so restricting
    the mediator's search to it is exact (ties are broken the same way either way).
    """
    keep = []
    groups: dict[bytes, list[int]] = {}
    for j in packages:
        groups.setdefault(required[:, j].tobytes(), []).append(int(j))
    for members in groups.values():
        m = np.array(members)
        u = U[:, m].T  # (g, n)
        ge = (u[:, None, :] >= u[None, :, :]).all(-1)
        gt = (u[:, None, :] > u[None, :, :]).any(-1)
        keep.extend(m[~(ge & gt).any(axis=0)])
    return np.array(sorted(keep), dtype=np.int64)


def nash_choice(rows: np.ndarray, U: np.ndarray, req: np.ndarray | None) -> np.ndarray:
    """For each belief row (G, n): the index of the best column of U (n, C, or G x n x C).

    Best = largest Nash product of surpluses among packages every required party is believed to
    accept; if there is none, the smallest total shortfall. Ties: larger total surplus, then the
    lower index. ``req`` (n, C) marks whose consent each package needs (None: everyone's).
    """
    surplus = (U if U.ndim == 3 else U[None]) - rows[:, :, None]  # (G, n, C)
    if req is None:
        feasible = (surplus > 0).all(axis=1)
        nash = surplus.prod(axis=1)  # only read where feasible, i.e. all factors > 0
        shortfall = np.maximum(-surplus, 0.0).sum(axis=1)
        total = surplus.sum(axis=1)
    else:
        feasible = np.where(req, surplus > 0, True).all(axis=1)  # (G, C)
        nash = np.where(req, surplus, 1.0).prod(axis=1)
        shortfall = np.where(req, np.maximum(-surplus, 0.0), 0.0).sum(axis=1)
        total = np.where(req, surplus, 0.0).sum(axis=1)
    any_ok = feasible.any(axis=1, keepdims=True)
    primary = np.where(any_ok, np.where(feasible, nash, -np.inf), -shortfall)
    best = primary == primary.max(axis=1, keepdims=True)
    secondary = np.where(best, total, -np.inf)
    best &= secondary == secondary.max(axis=1, keepdims=True)
    return np.argmax(best, axis=1)
