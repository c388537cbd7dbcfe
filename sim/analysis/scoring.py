"""How good was a forecast: Brier and log scores of a scenario's forecast against dated answers to
four kinds of question, side by side with references that never read the answers.

Questions (see :mod:`sim.scenario.observations`):

- ``in_force``: which class (or which option of one issue) was in force on day D;
- ``at_horizon``: which class was in force at the scenario's horizon;
- ``first_by``: had the class been in force at the end of some day up to day D (yes / no);
- ``settled_by``: had the issue been settled that way at the end of some day up to D (yes / no).

The model's forecast is the share of simulated worlds in each category at the end of day D (or of
the horizon, if D is later); nothing is in force before day 1's end.

- Brier (1950), "Verification of forecasts expressed in terms of probability", Monthly Weather
  Review 78: the multi-class score sum_k (p_k - o_k)^2, 0 for certainty on what happened, 2 for
  certainty on something else (a yes/no question is two categories).
- The log score -ln p(observed) (Good 1952), with a stated floor: a probability below the floor
  counts as the floor, so one event given probability 0 does not make the mean infinite; how many
  events got probability 0 before the floor is reported beside it. Both rules are proper
  (Gneiting & Raftery 2007, "Strictly proper scoring rules, prediction, and estimation", JASA 102).
- References never read the answers: the uniform forecast over each question's categories, and any
  named forecast given in the observations file (a crowd's, another forecaster's). The model minus a
  reference, observation by observation, is averaged with a 95% Student-t interval over the
  observations the reference covers (the paired comparison of Diebold & Mariano 1995, "Comparing
  predictive accuracy", JBES 13, without their correction for serial correlation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from sim.engine.outcomes import STATUS_QUO, OutcomeSpace
from sim.scenario import Scenario
from sim.scenario.observations import Observation, Observations, answer, categories, spread

CLASS = "class"
LOG_FLOOR = 0.001  # the default floor of the log score
MODEL, UNIFORM = "model", "uniform"


def brier(p: Sequence[float], observed: int) -> float:
    """Multi-class Brier score of the forecast ``p`` when category ``observed`` happened."""
    p = np.asarray(p, dtype=float)
    o = np.zeros_like(p)
    o[observed] = 1.0
    return float(((p - o) ** 2).sum())


def log_score(p: Sequence[float], observed: int, floor: float = 0.0) -> float:
    """-ln max(p[observed], floor): 0 for certainty on what happened; infinite for a probability of
    0 when there is no floor."""
    q = max(float(np.asarray(p, dtype=float)[observed]), floor)
    return float("inf") if q <= 0 else max(0.0, -math.log(q))


@dataclass(frozen=True)
class Asked:
    """One observation as a question: what is asked, on which day, its categories and the answer."""

    question: str
    kind: str  # "class", or the issue asked about
    target: str | None  # the class or option a first_by / settled_by question asks after
    day: int
    categories: list[str]
    observed: int


def kind_of(o: Observation) -> str:
    return CLASS if o.class_ is not None else o.issue


def day_of(sc: Scenario, o: Observation) -> int:
    return (date.fromisoformat(o.date) - date.fromisoformat(sc.calendar.start)).days


def asked(sc: Scenario, o: Observation) -> Asked:
    cats = categories(sc, o)
    target = (o.class_ or o.option) if o.question in ("first_by", "settled_by") else None
    day = sc.calendar.horizon_days if o.question == "at_horizon" else day_of(sc, o)
    return Asked(o.question, kind_of(o), target, day, cats, cats.index(answer(o)))


def uniform(a: Asked) -> np.ndarray:
    """The no-skill reference: every category of the question equally likely."""
    return np.full(len(a.categories), 1.0 / len(a.categories))


class Forecast:
    """What a run forecasts for each question: the share of worlds in each of its categories."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc

    def round_of(self, day: int) -> int:
        """The last recorded day (its end) on or before ``day`` (0: none yet), at most the horizon."""
        return min(max(day, 0), self.sc.days)

    def probabilities(self, kind: str, day: int) -> np.ndarray:
        """Share of worlds with each category of ``kind`` (class, or an issue's options) in force."""
        raise NotImplementedError

    def ever(self, kind: str, target: str, day: int) -> float:
        """Share of worlds in which ``target`` (a class, or an option of issue ``kind``) has been in
        force at some time up to ``day``."""
        raise NotImplementedError

    def answer(self, a: Asked) -> np.ndarray:
        if a.question in ("first_by", "settled_by"):
            yes = self.ever(a.kind, a.target, a.day)
            return np.array([yes, 1.0 - yes])
        return self.probabilities(a.kind, a.day)


class PathForecast(Forecast):
    """From the package in force in every world at the end of each day (worlds x days)."""

    def __init__(self, sc: Scenario, space: OutcomeSpace, path: np.ndarray) -> None:
        super().__init__(sc)
        self.space, self.path = space, path

    def _codes(self, kind: str, pkgs: np.ndarray) -> tuple[np.ndarray, list[str]]:
        if kind == CLASS:
            return self.space.package_class[pkgs], self.space.class_order
        k = self.space.issues.index(kind)
        return self.space.packages[pkgs, k], self.space.options[k]

    def probabilities(self, kind: str, day: int) -> np.ndarray:
        t = self.round_of(day)
        pkgs = self.path[:, t - 1] if t > 0 else np.full(self.path.shape[0], STATUS_QUO)
        codes, names = self._codes(kind, pkgs)
        return np.bincount(codes.astype(np.int64), minlength=len(names)) / pkgs.size

    def ever(self, kind: str, target: str, day: int) -> float:
        t = self.round_of(day)
        if t == 0:
            return 0.0
        codes, names = self._codes(kind, self.path[:, :t])
        return float((codes == names.index(target)).any(axis=1).mean())


class CurveForecast(Forecast):
    """From a run's curves (each class in force by day; each deal class first in force by day):
    questions about classes only."""

    def __init__(self, sc: Scenario, curve: pd.DataFrame, first: pd.DataFrame | None = None) -> None:
        super().__init__(sc)
        self.curve, self.first = curve, first

    def _at(self, frame: pd.DataFrame, day: int) -> pd.Series:
        return frame[frame["day"] == self.round_of(day)].set_index("outcome")["share"]

    def probabilities(self, kind: str, day: int) -> np.ndarray:
        if kind != CLASS:
            raise ValueError("a run's curve forecasts classes only")
        cats = [*self.sc.classes, "no_agreement"]
        if self.round_of(day) == 0:
            return np.array([c == "no_agreement" for c in cats], dtype=float)
        at = self._at(self.curve, day)
        return np.array([float(at.get(c, 0.0)) for c in cats])

    def ever(self, kind: str, target: str, day: int) -> float:
        if kind != CLASS or self.first is None:
            raise ValueError("a run's curves forecast first-in-force classes only")
        return 0.0 if self.round_of(day) == 0 else float(self._at(self.first, day).get(target, 0.0))


@dataclass
class Scores:
    """One row per observation (``table``), each forecaster's probabilities (``forecasts``: one row
    per observation, forecaster and category), the model's overall means (``overall``, one row) and
    the model against each reference with the difference's interval (``references``)."""

    scenario: Scenario
    table: pd.DataFrame
    overall: pd.DataFrame
    forecasts: pd.DataFrame
    references: pd.DataFrame
    log_floor: float = LOG_FLOOR
    unchecked: int = 0  # entries of the observations file without a checkable source


def forecasters(obs: Observations) -> list[str]:
    return [UNIFORM, *obs.forecasts]


def score(sc: Scenario, obs: Observations, forecast: Forecast, log_floor: float = LOG_FLOOR) -> Scores:
    """Score ``forecast`` and every reference against every observation (in date order)."""
    rows, probs = [], []
    items = sorted(obs.observations.items(), key=lambda kv: (kv[1].date, kv[0]))
    for oid, o in items:
        a = asked(sc, o)
        given = {MODEL: forecast.answer(a), UNIFORM: uniform(a)}
        for fid, f in obs.forecasts.items():
            if oid in f.p:
                given[fid] = np.asarray(spread(f.p[oid], a.categories))
        row = {
            "observation": oid,
            "question": a.question,
            "date": o.date,
            "day": a.day,
            "kind": a.kind,
            "asked": a.target or "",
            "observed": a.categories[a.observed],
            "p_observed": float(given[MODEL][a.observed]),
            "zero": bool(given[MODEL][a.observed] <= 0),
            "forecast_mode": a.categories[int(np.argmax(given[MODEL]))],
        }
        for who in [MODEL, *forecasters(obs)]:
            tag = "" if who == MODEL else f"_{who}"
            p = given.get(who)
            row[f"brier{tag}"] = brier(p, a.observed) if p is not None else float("nan")
            row[f"log{tag}"] = log_score(p, a.observed, log_floor) if p is not None else float("nan")
        row["source"] = o.source
        rows.append(row)
        probs += [
            {"observation": oid, "forecaster": who, "category": c, "p": float(p[k])}
            for who, p in given.items()
            for k, c in enumerate(a.categories)
        ]
    table = pd.DataFrame(rows)
    b, bu = table["brier"].mean(), table[f"brier_{UNIFORM}"].mean()
    overall = pd.DataFrame(
        [
            {
                "scenario": sc.name,
                "observations": len(table),
                "brier": b,
                "log": table["log"].mean(),
                "zero_probability": int(table["zero"].sum()),
                "log_floor": log_floor,
                "brier_uniform": bu,
                "log_uniform": table[f"log_{UNIFORM}"].mean(),
                "brier_skill": 1 - b / bu if bu > 0 else float("nan"),
            }
        ]
    )
    refs = pd.DataFrame([_versus(sc, table, who, obs) for who in forecasters(obs)])
    return Scores(sc, table, overall, pd.DataFrame(probs), refs, log_floor, len(obs.unchecked()))


def paired(d: np.ndarray) -> tuple[float, float, float]:
    """Mean of paired differences with its 95% Student-t interval (nan below two observations)."""
    from scipy.stats import t

    d = d[~np.isnan(d)]
    if d.size == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(d.mean())
    if d.size < 2:
        return m, float("nan"), float("nan")
    half = float(t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
    return m, m - half, m + half


def _versus(sc: Scenario, table: pd.DataFrame, who: str, obs: Observations) -> dict:
    """The model against one reference, on the observations the reference gives probabilities for."""
    covered = table[table[f"brier_{who}"].notna()]
    out = {
        "scenario": sc.name,
        "reference": who,
        "label": "uniform over each question's categories" if who == UNIFORM else obs.forecasts[who].label,
        "source": "" if who == UNIFORM else obs.forecasts[who].source,
        "made": "" if who == UNIFORM else obs.forecasts[who].date,
        "observations": len(covered),
    }
    for rule in ("brier", "log"):
        mine, theirs = covered[rule].to_numpy(float), covered[f"{rule}_{who}"].to_numpy(float)
        d, lo, hi = paired(mine - theirs)
        out |= {
            rule: float(mine.mean()) if mine.size else float("nan"),
            f"{rule}_reference": float(theirs.mean()) if theirs.size else float("nan"),
            f"{rule}_diff": d,
            f"{rule}_diff_lo": lo,
            f"{rule}_diff_hi": hi,
        }
    return out


def rank(scores: Sequence[Scores]) -> pd.DataFrame:
    """Scenarios ranked by mean Brier score (lower is better), then by mean log score."""
    out = pd.concat([s.overall for s in scores], ignore_index=True)
    out = out.sort_values(["brier", "log", "scenario"]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
