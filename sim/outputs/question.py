"""The scenario's own question, first in every output: its deal class first in force by each day of
its ``headline`` table, and in force on the last, per scenario with 95% intervals.

"First in force by day D" is the cumulative question forecasting platforms ask ("will a ceasefire
take effect by D?"); "in force on day D" is whether it still holds then. Both are read from a run's
``first.csv`` and ``curve.csv`` at the last recorded day on or before D. Differences from the
reference use Newcomb's hybrid score interval (Newcomb 1998), as the rest of the comparison does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from sim.outputs.plots import Runs, class_labels

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario import Scenario

FIRST, NOW = "first_by", "in_force_on"  # summary.csv kinds of the question's rows
Cell = tuple[float, float, float]  # share, lo, hi


@dataclass(frozen=True)
class Answer:
    """One scenario's answer: per (kind, class, day) the count, share and interval, and the
    difference from the reference (None for the reference itself)."""

    name: str
    title: str
    reference: bool
    cells: dict[tuple[str, str, int], tuple[int, int, float, float, float]]  # count, n, share, lo, hi
    diffs: dict[tuple[str, str, int], Cell | None]

    def cell(self, kind: str, cid: str, day: int) -> Cell:
        return self.cells[(kind, cid, day)][2:]


@dataclass(frozen=True)
class Question:
    classes: list[str]
    days: list[int]
    labels: dict[str, str]
    start: str
    answers: list[Answer]  # the reference first, then by the lead class first in force by the last day
    why: str  # where the question comes from (the reference's headline table, or the default)

    @property
    def lead(self) -> str:
        return self.classes[0]

    @property
    def last(self) -> int:
        return self.days[-1]

    def date(self, day: int) -> str:
        return (date.fromisoformat(self.start) + timedelta(days=day)).isoformat()

    def asked(self) -> list[tuple[str, str, int]]:
        """Every number asked, in reading order: each class by each day, then in force on the last."""
        out = [(FIRST, c, d) for c in self.classes for d in self.days]
        return out + [(NOW, c, self.last) for c in self.classes]


def at_day(frame: pd.DataFrame, outcome: str, day: int) -> tuple[int, int, float, float, float]:
    """Count, n, share and interval of ``outcome`` at the last recorded day on or before ``day``
    (before the first record nothing is in force yet, so the count is 0)."""
    from sim.experiments.tally import wilson

    part = frame[(frame["outcome"] == outcome) & (frame["day"] <= day)]
    n = int(frame["n"].iloc[0]) if len(frame) else 0
    if not len(part):
        lo, hi = wilson(np.array([0]), max(n, 1))
        return 0, n, 0.0, float(lo[0]), float(hi[0])
    r = part.iloc[-1]
    return int(r["count"]), n, float(r["share"]), float(r["lo"]), float(r["hi"])


def _cell(
    sc: Scenario, frame: pd.DataFrame, key: tuple[str, str, int]
) -> tuple[int, int, float, float, float]:
    """A scenario followed for fewer days than asked cannot answer: its cell is empty (nan)."""
    _, cid, day = key
    n = int(frame["n"].iloc[0]) if len(frame) else 0
    if day > sc.calendar.horizon_days:
        return 0, n, float("nan"), float("nan"), float("nan")
    return at_day(frame, cid, day)


def build(runs: Runs, firsts: dict[str, pd.DataFrame], reference: str) -> Question:
    """The reference's question (its ``headline`` table, or the default), answered by every scenario."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    ref_sc: Scenario = runs[reference][0] if reference in runs else next(iter(runs.values()))[0]
    q = ref_sc.question()
    why = (
        "the reference's headline table"
        if ref_sc.headline is not None
        else "the default: the reference has no headline table, so its first class at its horizon"
    )
    keys = [(FIRST, c, d) for c in q.classes for d in q.days] + [(NOW, c, q.days[-1]) for c in q.classes]
    cells = {
        name: {k: _cell(runs[name][0], firsts[name] if k[0] == FIRST else runs[name][1], k) for k in keys}
        for name in runs
    }
    answers = []
    for name, (sc, _, _) in runs.items():
        diffs: dict[tuple[str, str, int], Cell | None] = {}
        for k in keys:
            if name == reference or reference not in cells:
                diffs[k] = None
                continue
            (k1, n1, s1, *_), (k0, n0, s0, *_) = cells[name][k], cells[reference][k]
            if np.isnan(s1) or np.isnan(s0):
                diffs[k] = None
                continue
            lo, hi = confint_proportions_2indep(k1, n1, k0, n0, method="newcomb", compare="diff")
            diffs[k] = (s1 - s0, float(lo), float(hi))
        answers.append(Answer(name, sc.title, name == reference, cells[name], diffs))
    lead = (FIRST, q.classes[0], q.days[-1])
    answers.sort(
        key=lambda a: (not a.reference, -np.nan_to_num(a.cells[lead][2], nan=-1.0))
    )  # stable: ties keep the order given
    return Question(list(q.classes), list(q.days), class_labels(runs), ref_sc.calendar.start, answers, why)


def pct(cell: Cell) -> str:
    return "—" if np.isnan(cell[0]) else f"{100 * cell[0]:.1f}%"


def ci(cell: Cell) -> str:
    if np.isnan(cell[0]):
        return "— (not followed so long)"
    return f"{100 * cell[0]:.1f}% [{100 * cell[1]:.1f}, {100 * cell[2]:.1f}]"


def pts(diff: Cell | None) -> str:
    if diff is None:
        return "—"
    return f"{100 * diff[0]:+.1f} [{100 * diff[1]:+.1f}, {100 * diff[2]:+.1f}]"


def name_of(q: Question, kind: str, cid: str, day: int, short: bool = False) -> str:
    """The question in words: 'Full ceasefire first in force by day 30 (2025-04-12)'."""
    what = "by" if kind == FIRST else "on"
    if short:
        return f"{what} d{day}"
    verb = "first in force by" if kind == FIRST else "in force on"
    return f"{q.labels.get(cid, cid)} {verb} day {day} ({q.date(day)})"


def sentence(q: Question) -> str:
    """The question and its answer in one paragraph: the lead class by the last day across scenarios."""
    key = (FIRST, q.lead, q.last)
    ref = next((a for a in q.answers if a.reference), None)
    others = [a for a in q.answers if not a.reference]
    text = f"{name_of(q, *key)}?"
    parts = [f"The question: {text}"]
    if others:
        top, bottom = others[0], others[-1]
        parts.append(
            f"Most likely under {top.title} ({pct(top.cell(*key))}), least likely under {bottom.title} "
            f"({pct(bottom.cell(*key))})" + (";" if ref is not None else ".")
        )
    if ref is not None:
        now = ref.cell(NOW, q.lead, q.last)
        lead = "the reference" if others else "Under the reference"
        parts.append(
            f"{lead}, {ref.title}, gives {ci(ref.cell(*key))}, "
            f"and {pct(now)} with it in force on day {q.last}."
        )
    return " ".join(parts)
