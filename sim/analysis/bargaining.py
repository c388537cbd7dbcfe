"""Bargaining geometry over an enumerated outcome space: the zone of agreement, the Pareto frontier,
and the packages that theory picks.

A bargaining problem here is a finite set of packages, each party's surplus of each package over the
disagreement point (what is in force if nothing is agreed; the war on every front at first), which
packages may be agreed at all (valid, of an outcome class, across nobody's red line, and keeping what
is already banked), and whose consent each package needs. The outcome space is small and listed
package by package, so every answer is exact: no convex hull, no interpolation between packages.

- **Zone of possible agreement**: the packages every party whose consent they need values strictly
  above no deal.
- **Pareto frontier**: the packages of the zone that no other package that may be agreed (or no
  deal) gives every party at least as much and someone more.
- **Nash bargaining package**: Nash (1950), "The bargaining problem", Econometrica 18(2): the package
  of the zone maximising the product of the required parties' surpluses over no deal.
- **Kalai-Smorodinsky package**: Kalai & Smorodinsky (1975), "Other solutions to Nash's bargaining
  problem", Econometrica 43(3): each party's ideal is the most it gets anywhere in the zone; the
  solution gives every party the same share of its ideal. Over a finite set no package need lie on
  that line, so the discrete form is used: the package whose smallest share of an ideal is largest,
  comparing the next-smallest shares on a tie (leximin of the normalised gains), which is
  Pareto-optimal and is the classical point whenever that point is a package.
- **Maximum-welfare package**: the utilitarian choice, the largest sum of every party's surplus.

Ties are broken as the engine's mediator breaks them (``sim.engine.mediator.nash_choice``): the
larger total surplus of the required parties, then the lower package index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NONE = -1  # no package: the zone is empty


@dataclass(frozen=True)
class Problem:
    """A bargaining problem over P packages and n parties.

    surplus (n, P): each party's value of each package over the disagreement point (carrots counted).
    feasible (P,): packages that may be agreed at all.
    required (n, P): whose consent each package needs.
    disagreement: the package in force if nothing is agreed (its surplus is 0 for everyone).
    """

    surplus: np.ndarray
    feasible: np.ndarray
    required: np.ndarray
    disagreement: int = 0

    @property
    def n_parties(self) -> int:
        return self.surplus.shape[0]


def zone(problem: Problem) -> np.ndarray:
    """(P,) bool: feasible packages every required party values strictly above no deal."""
    u, req = problem.surplus, problem.required
    return problem.feasible & np.where(req, u > 0, True).all(axis=0)


def pareto_optimal(problem: Problem, among: np.ndarray | None = None) -> np.ndarray:
    """(P,) bool: packages of ``among`` (default: the feasible ones) that no feasible package and not
    no deal weakly dominates: at least as good for every party and better for one."""
    u = problem.surplus
    cand = np.flatnonzero(problem.feasible if among is None else among)
    rivals = problem.feasible.copy()
    rivals[problem.disagreement] = True
    rv = u[:, rivals][:, None, :]  # (n, 1, Q)
    mine = u[:, cand][:, :, None]  # (n, C, 1)
    dominated = ((rv >= mine).all(axis=0) & (rv > mine).any(axis=0)).any(axis=1)
    out = np.zeros(u.shape[1], dtype=bool)
    out[cand] = ~dominated
    return out


def frontier(problem: Problem) -> np.ndarray:
    """(P,) bool: the Pareto frontier of the zone of agreement."""
    return pareto_optimal(problem, zone(problem))


def _pick(primary: np.ndarray, problem: Problem, inside: np.ndarray) -> int:
    """The package of ``inside`` with the largest ``primary``; ties: larger total surplus of the
    required parties, then the lower index. NONE if ``inside`` is empty."""
    if not inside.any():
        return NONE
    total = np.where(problem.required, problem.surplus, 0.0).sum(axis=0)
    key = np.where(inside, primary, -np.inf)
    best = inside & (key == key.max())
    second = np.where(best, total, -np.inf)
    best &= second == second.max()
    return int(np.flatnonzero(best)[0])


def nash(problem: Problem) -> int:
    """The Nash (1950) bargaining package: the largest product of the required parties' surpluses
    over no deal among the packages of the zone; NONE if the zone is empty."""
    z = zone(problem)
    product = np.where(problem.required, problem.surplus, 1.0).prod(axis=0)
    return _pick(product, problem, z)


def ideal(problem: Problem) -> np.ndarray:
    """(n,) each party's ideal: the most it gets in the zone (NaN where the zone is empty)."""
    z = zone(problem)
    if not z.any():
        return np.full(problem.n_parties, np.nan)
    return problem.surplus[:, z].max(axis=1)


def kalai_smorodinsky(problem: Problem) -> int:
    """The Kalai & Smorodinsky (1975) package: the same share of each required party's ideal gain,
    in its discrete (leximin) form over the zone; NONE if the zone is empty."""
    z = zone(problem)
    if not z.any():
        return NONE
    best = ideal(problem)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = problem.surplus / best[:, None]
    share = np.where(problem.required, share, np.inf)  # a party whose consent is not needed
    ranked = np.sort(share, axis=0)  # (n, P): smallest share first
    cols = np.flatnonzero(z)
    # Lexicographic maximum of the sorted shares: np.lexsort sorts by the last key first.
    order = np.lexsort([-ranked[i, cols] for i in reversed(range(ranked.shape[0]))])
    top = ranked[:, cols[order[0]]]
    tied = np.zeros_like(z)
    tied[cols] = (ranked[:, cols] == top[:, None]).all(axis=0)
    return _pick(np.zeros(z.size), problem, tied)


def max_welfare(problem: Problem) -> int:
    """The utilitarian package: the largest sum of every party's surplus over the zone; NONE if empty."""
    return _pick(problem.surplus.sum(axis=0), problem, zone(problem))


@dataclass(frozen=True)
class Solution:
    """The geometry of one problem: the zone and its frontier as masks, and the theory packages."""

    zone: np.ndarray
    frontier: np.ndarray
    nash: int
    kalai_smorodinsky: int
    max_welfare: int
    ideal: np.ndarray

    @property
    def empty(self) -> bool:
        return not self.zone.any()

    def points(self) -> dict[str, int]:
        return {
            "nash": self.nash,
            "kalai_smorodinsky": self.kalai_smorodinsky,
            "max_welfare": self.max_welfare,
        }


def solve(problem: Problem) -> Solution:
    """Zone, frontier and the Nash, Kalai-Smorodinsky and maximum-welfare packages of a problem."""
    return Solution(
        zone(problem),
        frontier(problem),
        nash(problem),
        kalai_smorodinsky(problem),
        max_welfare(problem),
        ideal(problem),
    )


def distance_to(problem: Problem, p: int, targets: np.ndarray) -> float:
    """Euclidean distance in utility space from package p to the nearest of the packages ``targets``
    (a mask or an index array); NaN when there is none."""
    idx = np.flatnonzero(targets) if targets.dtype == bool else np.asarray(targets)
    if idx.size == 0:
        return float("nan")
    d = problem.surplus[:, idx] - problem.surplus[:, p : p + 1]
    return float(np.sqrt((d**2).sum(axis=0)).min())
