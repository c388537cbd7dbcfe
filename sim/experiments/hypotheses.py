"""Scenario hypotheses, checked: does the stated class in force go the stated way against the
scenario the file extends?

A scenario's ``expect`` says which outcome (a class, ``any_agreement`` or ``no_agreement``) should
go up or down by a day (the horizon when absent), and the theory behind it. The check compares the
share of worlds with that outcome in force on that day with the parent scenario's: the difference of
two independent proportions with Newcombe's hybrid score interval (Newcombe 1998, Statistics in
Medicine 17). The hypothesis *held* when the interval excludes zero in the stated direction, is
*contrary* when it excludes zero the other way, and *inconclusive* otherwise. A contrary verdict is
a finding to report, not a number to tune away.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.scenario import Scenario

HELD, CONTRARY, INCONCLUSIVE = "held", "contrary", "inconclusive"


@dataclass(frozen=True)
class Verdict:
    scenario: str
    hypothesis: str
    against: str
    outcome: str
    direction: str
    day: int
    share: float
    parent_share: float
    diff: float
    lo: float
    hi: float
    verdict: str
    theory: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def share_on(curve: pd.DataFrame, outcome: str, day: int) -> tuple[int, int, int]:
    """(count, n, recorded day) of ``outcome`` in force on the first recorded day at or after ``day``."""
    part = curve[curve["outcome"] == outcome].sort_values("day")
    at = part[part["day"] >= day]
    row = at.iloc[0] if len(at) else part.iloc[-1]
    return int(row["count"]), int(row["n"]), int(row["day"])


def verdict(diff_lo: float, diff_hi: float, direction: str) -> str:
    up = direction == "up"
    if (diff_lo > 0 and up) or (diff_hi < 0 and not up):
        return HELD
    if (diff_lo > 0 and not up) or (diff_hi < 0 and up):
        return CONTRARY
    return INCONCLUSIVE


def check(curves: dict[str, tuple[Scenario, pd.DataFrame]]) -> list[Verdict]:
    """Every ``expect`` of every scenario whose parent is among ``curves`` (name -> scenario, curve)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    out = []
    for name, (sc, curve) in curves.items():
        if not sc.expect or sc.parent not in curves:
            continue
        _, parent_curve = curves[sc.parent]
        for xid, ex in sc.expect.items():
            day = ex.day or sc.calendar.horizon_days
            k1, n1, at = share_on(curve, ex.outcome, day)
            k0, n0, _ = share_on(parent_curve, ex.outcome, day)
            lo, hi = confint_proportions_2indep(k1, n1, k0, n0, method="newcomb", compare="diff")
            lo, hi = float(np.asarray(lo)), float(np.asarray(hi))
            out.append(
                Verdict(
                    name,
                    xid,
                    sc.parent,
                    ex.outcome,
                    ex.direction,
                    at,
                    k1 / n1,
                    k0 / n0,
                    k1 / n1 - k0 / n0,
                    lo,
                    hi,
                    verdict(lo, hi, ex.direction),
                    ex.theory,
                )
            )
    return out


def missing(scenarios: list[Scenario]) -> list[str]:
    """Scenarios whose hypotheses cannot be checked because their parent was not run."""
    names = {sc.name for sc in scenarios}
    return [sc.name for sc in scenarios if sc.expect and sc.parent not in names]
