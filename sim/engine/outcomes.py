"""The outcome space: every package (one option per issue), compiled to arrays once per scenario.

A package is indexed in row-major order over the issues as the scenario lists them, so package 0
holds the first option of every issue: the status quo, nothing agreed, the war on every front.
Everything the model asks about packages (which fronts a package's truce closes, which of its terms
end with the truce, how the balance of power moves during it, red lines, whose consent it needs, its
outcome class, the packages one issue-change away) is a lookup table here, so a round is array
indexing.
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
STATUS_QUO = 0  # the package of every issue's first option


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
        """The package index of a {issue: option} mapping (issues not named stay at the status quo)."""
        idx = 0
        for issue, opts in zip(self.issues, self.options, strict=True):
            idx = idx * len(opts) + (opts.index(package[issue]) if issue in package else 0)
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

    # ------------------------------------------------------------ the truce

    @cached_property
    def truce_k(self) -> int:
        return self.issues.index(self.scenario.truce.issue)

    @cached_property
    def term_ks(self) -> list[int]:
        """Issues other than the truce, in scenario order: what option values are given for."""
        return [k for k in range(len(self.issues)) if k != self.truce_k]

    @cached_property
    def tied(self) -> np.ndarray:
        """(K,) bool: terms that hold only while a truce does (they end with it)."""
        return np.isin(self.issues, self.scenario.truce.tied)

    @cached_property
    def truce(self) -> np.ndarray:
        """(P,) the truce option of each package (0: no truce)."""
        return self.packages[:, self.truce_k].astype(np.int64)

    @cached_property
    def fronts(self) -> list[str]:
        return list(self.scenario.fronts)

    @cached_property
    def closes(self) -> np.ndarray:
        """(P, F) bool: the fronts each package's truce closes."""
        t = self.scenario.truce
        by_option = np.array(
            [[f in t.closes[o] for f in self.fronts] for o in self.options[self.truce_k]], dtype=bool
        )
        return by_option[self.truce]

    @cached_property
    def open_by_option(self) -> np.ndarray:
        """(O, F) bool: the fronts left open under each truce option."""
        t = self.scenario.truce
        return np.array(
            [[f not in t.closes[o] for f in self.fronts] for o in self.options[self.truce_k]], dtype=bool
        )

    @cached_property
    def closes_momentum_by_option(self) -> np.ndarray:
        """(O,) bool: truce options that close the front whose fighting moves the balance of power
        (only then does a truce's rebuild apply; otherwise the fighting moves it)."""
        front = self.fronts.index(self.scenario.dynamics.momentum.front)
        return ~self.open_by_option[:, front]

    @cached_property
    def valid(self) -> np.ndarray:
        """(P,) bool: packages that make sense: terms tied to a truce only where there is one."""
        loose = (self.packages[:, self.tied] != 0).any(axis=1)
        return ~loose | (self.truce > 0)

    @cached_property
    def lapse(self) -> np.ndarray:
        """(P,) the package left in force when p's truce ends: no truce, tied terms back to none."""
        kept = self.packages.copy()
        kept[:, self.truce_k] = 0
        kept[:, self.tied] = 0
        return self._index_rows(kept)

    @cached_property
    def rebuild(self) -> np.ndarray:
        """(P,) how the balance of power moves per day while p's truce is in force."""
        out = np.zeros(self.n)
        for rb in self.scenario.dynamics.rebuild.values():
            out += rb.per_day * self.holds(rb.when)
        return np.where(self.truce > 0, out, 0.0)

    @cached_property
    def monitored(self) -> np.ndarray:
        """(P,) bool: packages whose truce is monitored (fewer violations, Fortna 2004)."""
        when = self.scenario.truce.violations.monitored_when
        return self.holds(when) if when else np.zeros(self.n, dtype=bool)

    def _index_rows(self, rows: np.ndarray) -> np.ndarray:
        sizes = np.array([len(o) for o in self.options], dtype=np.int64)
        strides = np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]])
        return rows.astype(np.int64) @ strides

    @cached_property
    def term_columns(self) -> np.ndarray:
        """(P, k) for each package, the column of its option on each term issue among the term
        issues' options laid end to end."""
        sizes = [len(self.options[k]) for k in self.term_ks]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        return np.ascontiguousarray(self.packages[:, self.term_ks].astype(np.int64) + offsets)

    @cached_property
    def term_options(self) -> int:
        """J: the term issues' options laid end to end (the columns of ``term_columns``)."""
        return sum(len(self.options[k]) for k in self.term_ks)

    @cached_property
    def tied_terms(self) -> np.ndarray:
        """(k,) bool: which term issues (in ``term_ks`` order) are tied to the truce."""
        return np.ascontiguousarray(self.tied[self.term_ks])

    def extends(self, inforce: np.ndarray) -> np.ndarray:
        """(r, P) bool: packages that keep every option banked in ``inforce`` (r,) or raise it."""
        banked = self.packages[inforce]
        out = np.ones((inforce.size, self.n), dtype=bool)
        for k in range(len(self.issues)):
            out &= self.packages[None, :, k] >= banked[:, k : k + 1]
        return out

    def changes(self, text: np.ndarray) -> np.ndarray:
        """(r, P) how many issues each package changes from the text ``text`` (r,)."""
        tabled = self.packages[text]
        out = np.zeros((text.size, self.n), dtype=np.int16)
        for k in range(len(self.issues)):
            out += self.packages[None, :, k] != tabled[:, k : k + 1]
        return out

    # ------------------------------------------------------------ party tables

    def option_values(self, issue: str, values: dict[str, float]) -> np.ndarray:
        """(P,): the value of each package's option on ``issue``."""
        k = self.issues.index(issue)
        vals = np.array([values[o] for o in self.options[k]], dtype=np.float64)
        return vals[self.packages[:, k]]

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
            mask = np.zeros(self.n, dtype=bool)
            for issue, opts in party.required_when.items():
                mask |= self.holds({issue: opts})
            return mask
        return np.full(self.n, party.required)

    # ------------------------------------------------------------ classes and demands

    @cached_property
    def class_ids(self) -> list[str]:
        return list(self.scenario.classes)

    @cached_property
    def class_order(self) -> list[str]:
        """Every class a world can be in, then no agreement."""
        return [*self.class_ids, NO_DEAL]

    @cached_property
    def package_class(self) -> np.ndarray:
        """(P,) index into class_order of the first rule a package meets; the status quo is no
        agreement; -1: a package no rule describes (never proposed)."""
        out = np.full(self.n, -1, dtype=np.int16)
        for c, cl in enumerate(self.scenario.classes.values()):
            out[(out < 0) & self.holds(cl.when)] = c
        out[STATUS_QUO] = len(self.class_ids)
        return out

    @cached_property
    def negotiable(self) -> np.ndarray:
        """(P,) bool: packages a mediator may table: valid, of a class, across nobody's red line."""
        ok = self.valid & (self.package_class >= 0) & (np.arange(self.n) != STATUS_QUO)
        for party in self.scenario.parties.values():
            ok &= ~self.red_line_mask(party)
        return ok

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

    def describe_move(self, m: int) -> tuple[str, str]:
        k, o = self.moves[m]
        return self.issues[k], self.options[k][o]


def check_negotiable(sc: Scenario) -> OutcomeSpace:
    """The compiled outcome space, refused where there is nothing to negotiate or the opening is
    no valid text. These checks need the compiled space, so they live where the space is built."""
    space = OutcomeSpace(sc)
    if not space.negotiable.any():
        raise ScenarioError(
            sc.path,
            "classes",
            "no package is a deal that crosses no red line: there is nothing to negotiate",
        )
    if sc.opening is not None and not space.valid[space.index(sc.opening.package)]:
        tied = ", ".join(sc.truce.tied)
        raise ScenarioError(sc.path, "opening.package", f"terms tied to a truce ({tied}) need a truce")
    return space
