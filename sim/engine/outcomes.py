"""The outcome space: every package (one option per issue), compiled to arrays once per scenario.

A package is indexed in row-major order over the issues as the scenario lists them. Everything the
model asks about packages (option values, red lines, whose consent is needed, outcome class, the
packages one issue-change away) is a lookup table here, so a round is array indexing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from sim.errors import ScenarioError
from sim.scenario.schema import Party, Scenario

NO_DEAL = "no_agreement"


@dataclass(frozen=True)
class OutcomeSpace:
    scenario: Scenario
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        """Compute once per scenario what every chunk of a run would otherwise rebuild."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    @cached_property
    def issues(self) -> list[str]:
        return list(self.scenario.issues)

    @cached_property
    def options(self) -> list[list[str]]:
        return [self.scenario.issues[i].options for i in self.issues]

    @cached_property
    def packages(self) -> np.ndarray:
        """(P, K) option index of each package on each issue."""
        sizes = [len(o) for o in self.options]
        grid = np.indices(sizes).reshape(len(sizes), -1).T
        return np.ascontiguousarray(grid, dtype=np.int16)

    @property
    def n(self) -> int:
        return len(self.packages)

    def index(self, package: dict[str, str]) -> int:
        """The package index of a full {issue: option} mapping."""
        idx = 0
        for issue, opts in zip(self.issues, self.options, strict=True):
            idx = idx * len(opts) + opts.index(package[issue])
        return idx

    def describe(self, p: int) -> dict[str, str]:
        return {
            issue: opts[o] for issue, opts, o in zip(self.issues, self.options, self.packages[p], strict=True)
        }

    def holds(self, when: dict[str, list[str]] | dict[str, str]) -> np.ndarray:
        """(P,) bool: packages whose option on each named issue is one of those given."""
        mask = np.ones(self.n, dtype=bool)
        for issue, opts in when.items():
            k = self.issues.index(issue)
            allowed = [opts] if isinstance(opts, str) else opts
            codes = [self.options[k].index(o) for o in allowed]
            mask &= np.isin(self.packages[:, k], codes)
        return mask

    # ------------------------------------------------------------ party tables

    def value_matrix(self, party: Party) -> np.ndarray:
        """(K, P): the party's value of each package's option on each issue (unweighted)."""
        rows = [self.option_values(i, party.positions[i].values) for i in self.issues]
        return np.array(rows, dtype=np.float64)

    def option_values(self, issue: str, values: dict[str, float]) -> np.ndarray:
        """(P,): the value of each package's option on ``issue``."""
        k = self.issues.index(issue)
        vals = np.array([values[o] for o in self.options[k]], dtype=np.float64)
        return vals[self.packages[:, k]]

    def weights(self, party: Party) -> np.ndarray:
        return np.array([party.positions[i].weight for i in self.issues], dtype=np.float64)

    def interaction_vector(self, party: Party) -> np.ndarray:
        """(P,) sum of the party's interaction terms that each package triggers."""
        out = np.zeros(self.n)
        for term in party.interactions.values():
            out += term.value * self.holds(term.when)
        return out

    def red_line_mask(self, party: Party) -> np.ndarray:
        """(P,) bool: packages that touch one of the party's red lines."""
        mask = np.zeros(self.n, dtype=bool)
        for rl in party.red_lines.values():
            mask |= self.holds({rl.issue: rl.option})
        return mask

    def required_mask(self, party: Party) -> np.ndarray:
        """(P,) bool: packages that need this party's consent."""
        if party.required_when:
            return self.holds_any(party.required_when)
        return np.full(self.n, party.required)

    def holds_any(self, when: dict[str, list[str]]) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        for issue, opts in when.items():
            mask |= self.holds({issue: opts})
        return mask

    # ------------------------------------------------------------ classes and demands

    @cached_property
    def class_ids(self) -> list[str]:
        return list(self.scenario.classes)

    @cached_property
    def package_class(self) -> np.ndarray:
        """(P,) index into class_ids of the first rule a package meets; -1 = not a deal."""
        out = np.full(self.n, -1, dtype=np.int16)
        for c, cl in enumerate(self.scenario.classes.values()):
            out[(out < 0) & self.holds(cl.when)] = c
        return out

    @cached_property
    def moves(self) -> list[tuple[int, int]]:
        """Every single-issue change a party can demand: (issue index, option index)."""
        return [(k, o) for k, opts in enumerate(self.options) for o in range(len(opts))]

    @cached_property
    def neighbours(self) -> np.ndarray:
        """(P, M): the package that results from applying move m to package p."""
        sizes = np.array([len(o) for o in self.options])
        strides = np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]])
        idx = np.arange(self.n)[:, None]
        cols = []
        for k, o in self.moves:
            cols.append(idx[:, 0] + (o - self.packages[:, k].astype(np.int64)) * strides[k])
        return np.stack(cols, axis=1)

    @cached_property
    def stay(self) -> np.ndarray:
        """(P,) a move that leaves each package as it is (its own option on the first issue)."""
        return self.packages[:, 0].astype(np.int64)

    def describe_move(self, m: int) -> tuple[str, str]:
        k, o = self.moves[m]
        return self.issues[k], self.options[k][o]


def check_negotiable(sc: Scenario) -> OutcomeSpace:
    """The compiled outcome space, refused where every package crosses a red line or is no deal.

    This check needs the compiled space, so it lives where the space is built.
    """
    space = OutcomeSpace(sc)
    ok = space.package_class >= 0
    for party in sc.parties.values():
        ok &= ~space.red_line_mask(party)
    if not ok.any():
        raise ScenarioError(
            sc.path, "classes", "no package is a deal that crosses no red line: there is nothing to negotiate"
        )
    return space
