"""How good was a forecast: Brier and log scores of a scenario's day-by-day forecast against dated
observations of what was in force.

The forecast for an observation on day d is the share of simulated worlds with each class (or, for
an observation of one issue, each option of that issue) in force on d: at the end of day d (or of the
horizon, if d is later); nothing is in force before day 1's end.

- Brier (1950), "Verification of forecasts expressed in terms of probability", Monthly Weather
  Review 78: the multi-class score sum_k (p_k - o_k)^2, 0 for certainty on what happened, 2 for
  certainty on something else.
- The log score -ln p(observed) (Good 1952): infinite where the forecast gave what happened no
  chance at all; it is reported as such, not dropped.
- The no-skill reference forecasts each observation with the base rates of its categories among the
  observations of its kind (the sample climatology); a skill score 1 - Brier / Brier(reference)
  above 0 means the scenario did better than the base rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from sim.engine.outcomes import STATUS_QUO, OutcomeSpace
from sim.scenario import Scenario
from sim.scenario.observations import Observation, Observations

CLASS = "class"


def brier(p: Sequence[float], observed: int) -> float:
    """Multi-class Brier score of the forecast ``p`` when category ``observed`` happened."""
    p = np.asarray(p, dtype=float)
    o = np.zeros_like(p)
    o[observed] = 1.0
    return float(((p - o) ** 2).sum())


def log_score(p: Sequence[float], observed: int) -> float:
    """-ln p[observed]: 0 for certainty on what happened, infinite for a probability of 0."""
    q = float(np.asarray(p, dtype=float)[observed])
    return float("inf") if q <= 0 else max(0.0, float(-np.log(q)))


def kind_of(o: Observation) -> str:
    return CLASS if o.class_ is not None else o.issue


def categories(sc: Scenario, kind: str) -> list[str]:
    return [*sc.classes, "no_agreement"] if kind == CLASS else list(sc.issues[kind].options)


def observed_of(sc: Scenario, o: Observation) -> int:
    kind = kind_of(o)
    return categories(sc, kind).index(o.class_ if kind == CLASS else o.option)


def day_of(sc: Scenario, o: Observation) -> int:
    return (date.fromisoformat(o.date) - date.fromisoformat(sc.calendar.start)).days


def base_rates(sc: Scenario, obs: Observations) -> dict[str, np.ndarray]:
    """Per kind (class, or an issue), the share of each category among the observations of that kind."""
    out: dict[str, np.ndarray] = {}
    for o in obs.observations.values():
        kind = kind_of(o)
        out.setdefault(kind, np.zeros(len(categories(sc, kind))))[observed_of(sc, o)] += 1
    return {k: v / v.sum() for k, v in out.items()}


class Forecast:
    """What a run forecasts for each day: the share of worlds with each category in force."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc

    def round_of(self, day: int) -> int:
        """The last recorded day (its end) on or before ``day`` (0: none yet), at most the horizon."""
        return min(max(day, 0), self.sc.days)

    def probabilities(self, kind: str, day: int) -> np.ndarray:
        raise NotImplementedError


class PathForecast(Forecast):
    """From the package in force in every world at the end of each day (worlds x days)."""

    def __init__(self, sc: Scenario, space: OutcomeSpace, path: np.ndarray) -> None:
        super().__init__(sc)
        self.space, self.path = space, path

    def probabilities(self, kind: str, day: int) -> np.ndarray:
        t = self.round_of(day)
        pkgs = self.path[:, t - 1] if t > 0 else np.full(self.path.shape[0], STATUS_QUO)
        if kind == CLASS:
            codes, size = self.space.package_class[pkgs], len(self.space.class_order)
        else:
            k = self.space.issues.index(kind)
            codes, size = self.space.packages[pkgs, k], len(self.space.options[k])
        return np.bincount(codes.astype(np.int64), minlength=size) / pkgs.size


class CurveForecast(Forecast):
    """From a run's curve (share of each class in force by day): classes only."""

    def __init__(self, sc: Scenario, curve: pd.DataFrame) -> None:
        super().__init__(sc)
        self.curve = curve

    def probabilities(self, kind: str, day: int) -> np.ndarray:
        if kind != CLASS:
            raise ValueError("a run's curve forecasts classes only")
        cats = categories(self.sc, CLASS)
        t = self.round_of(day)
        if t == 0:
            return np.array([c == "no_agreement" for c in cats], dtype=float)
        at = self.curve[self.curve["day"] == t].set_index("outcome")["share"]
        return np.array([float(at.get(c, 0.0)) for c in cats])


@dataclass
class Scores:
    """One row per observation, and the overall means with the skill over the base rates."""

    scenario: Scenario
    table: pd.DataFrame
    overall: pd.DataFrame


def score(sc: Scenario, obs: Observations, forecast: Forecast) -> Scores:
    """Score ``forecast`` against every observation (in date order) and overall."""
    rates = base_rates(sc, obs)
    rows = []
    items = sorted(obs.observations.items(), key=lambda kv: (kv[1].date, kv[0]))
    for oid, o in items:
        kind, k, day = kind_of(o), observed_of(sc, o), day_of(sc, o)
        p, ref = forecast.probabilities(kind, day), rates[kind]
        rows.append(
            {
                "observation": oid,
                "date": o.date,
                "day": day,
                "kind": kind,
                "observed": categories(sc, kind)[k],
                "p_observed": float(p[k]),
                "forecast_mode": categories(sc, kind)[int(np.argmax(p))],
                "brier": brier(p, k),
                "log": log_score(p, k),
                "brier_reference": brier(ref, k),
                "log_reference": log_score(ref, k),
                "source": o.source,
            }
        )
    table = pd.DataFrame(rows)
    b, bref = table["brier"].mean(), table["brier_reference"].mean()
    overall = pd.DataFrame(
        [
            {
                "scenario": sc.name,
                "observations": len(table),
                "brier": b,
                "log": table["log"].mean(),
                "brier_reference": bref,
                "log_reference": table["log_reference"].mean(),
                "brier_skill": 1 - b / bref if bref > 0 else float("nan"),
            }
        ]
    )
    return Scores(sc, table, overall)


def rank(scores: Sequence[Scores]) -> pd.DataFrame:
    """Scenarios ranked by mean Brier score (lower is better), then by mean log score."""
    out = pd.concat([s.overall for s in scores], ignore_index=True)
    out = out.sort_values(["brier", "log", "scenario"]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
