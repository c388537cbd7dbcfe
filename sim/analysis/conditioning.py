"""Forecasts conditioned on the news: a particle filter over simulated worlds.

The scenario's run is the prior: R worlds, each one possible course of the talks, recorded as the
package in force at the end of each day. Observations (answers to the questions of
``sim.analysis.scoring``: what was in force on a day, at the horizon, whether a class had been in force
or an issue settled a way by a day) arrive in date order. For each date:

1. **Forecast.** Before the date's news is read, the forecast for that date is the weighted share of
   worlds with each category in force (the prequential forecast, Dawid 1984, "Present position and
   potential developments: some personal views. Statistical theory: the prequential approach", JRSS
   A 147: each forecast uses only what was known before its date), scored as ``sim.analysis.scoring``
   scores (the log score's floor; the uniform reference and the named forecasts of the file).
2. **Weigh.** Each world's weight is multiplied by the likelihood of what was reported, given what was
   the answer in it: a report is right with probability 1 - e and names each of the other K - 1
   categories with probability e / (K - 1) (a symmetric reporting error of stated rate e > 0, so no
   world's weight is ever zero). With e = 0 this is plain rejection of the worlds that disagree.
3. **Effective sample size** 1 / sum(w^2) of the normalised weights (Kong, Liu & Wong 1994,
   "Sequential imputations and Bayesian missing data problems", JASA 89).
4. **Resample and fork** where it falls below the stated floor (a share of R): systematic resampling
   (Kitagawa 1996, "Monte Carlo filter and smoother for non-Gaussian nonlinear state space models",
   JCGS 5) picks R copies in proportion to the weights; each copy keeps its parent's history up to the
   date and draws a fresh future after it (``sim.experiments.forks``): the bootstrap filter of Gordon,
   Salmond & Smith (1993). Each fork simulates R more worlds, within a stated budget of worlds.

The posterior of a world's own draws (margins, daily war values, concession speed, thresholds) is
its prior reweighted: a copy inherits its parent's draws, made before the talks.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from sim.analysis.scoring import (
    CLASS,
    LOG_FLOOR,
    UNIFORM,
    Asked,
    PathForecast,
    asked,
    brier,
    day_of,
    log_score,
    uniform,
)
from sim.engine import libm
from sim.engine.outcomes import STATUS_QUO
from sim.errors import UserError
from sim.experiments.chunks import compiled_space
from sim.experiments.forks import Lineage
from sim.experiments.mixture import run_generation, world_draws
from sim.scenario import Scenario
from sim.scenario.observations import Observation, Observations, spread

DEFAULT_ERROR = 0.05  # used, and stated, when neither the file nor the command gives a rate
DEFAULT_FLOOR = 0.5
DEFAULT_BUDGET_FACTOR = 10  # worlds simulated in all, as a multiple of the run's worlds
RESAMPLE_KEY = zlib.crc32(b"resample")  # the resampling draws' own stream, apart from every chunk's


@dataclass(frozen=True)
class Settings:
    """reporting_error: e in (0, 1); ess_floor: resample below this share of the worlds; budget:
    worlds simulated in all, the prior run included; log_floor: the log score's floor."""

    reporting_error: float = DEFAULT_ERROR
    ess_floor: float = DEFAULT_FLOOR
    budget: int | None = None
    log_floor: float = LOG_FLOOR

    def budget_for(self, worlds: int) -> int:
        return self.budget if self.budget is not None else DEFAULT_BUDGET_FACTOR * worlds


class Weighted(PathForecast):
    """A weighted ensemble's answers: each world's answer to a question, and the weighted share of
    worlds giving each (path: the package in force at the end of each day, worlds x days)."""

    def __init__(self, sc: Scenario, path: np.ndarray, weights: np.ndarray) -> None:
        super().__init__(sc, compiled_space(sc), path)
        self.weights = weights

    def codes(self, a: Asked) -> np.ndarray:
        """(R,) each world's category of question ``a`` (an index into ``a.categories``)."""
        t = self.round_of(a.day)
        if a.question in ("first_by", "settled_by"):
            if t == 0:
                return np.ones(self.path.shape[0], dtype=np.int64)  # "no": nothing yet in force
            codes, names = self._codes(a.kind, self.path[:, :t])
            return np.where((codes == names.index(a.target)).any(axis=1), 0, 1).astype(np.int64)
        pkgs = self.path[:, t - 1] if t > 0 else np.full(self.path.shape[0], STATUS_QUO)
        codes, names = self._codes(a.kind, pkgs)
        # The question's categories and the space's may be ordered differently: map by name.
        order = np.array([a.categories.index(c) for c in names], dtype=np.int64)
        return order[codes.astype(np.int64)]

    def answer(self, a: Asked) -> np.ndarray:
        return np.bincount(self.codes(a), weights=self.weights, minlength=len(a.categories))


def forecast(sc: Scenario, path: np.ndarray, weights: np.ndarray, a: Asked) -> np.ndarray:
    """The weighted share of worlds with each category of question ``a``."""
    return Weighted(sc, path, weights).answer(a)


def class_shares(sc: Scenario, path: np.ndarray, weights: np.ndarray, day: int) -> np.ndarray:
    """The weighted share of worlds with each class (then no_agreement) in force at the end of ``day``."""
    cats = [*sc.classes, "no_agreement"]
    return forecast(sc, path, weights, Asked("in_force", CLASS, None, day, cats, 0))


def likelihood(sc: Scenario, path: np.ndarray, obs: Iterable[Observation], error: float) -> np.ndarray:
    """(R,) the probability of the reports ``obs`` in every world, under reporting error ``error``."""
    lik = np.ones(path.shape[0])
    view = Weighted(sc, path, np.ones(path.shape[0]))
    for o in obs:
        a = asked(sc, o)
        K = len(a.categories)
        right = view.codes(a) == a.observed
        lik *= np.where(right, 1.0 - error, error / (K - 1))
    return lik


def check_error(e: float) -> float:
    """A reporting error, or a one-line error unless it is above 0 and below 1 (0 would rule worlds
    out silently; nan is neither)."""
    if not 0 < e < 1:
        raise UserError(f"the reporting error must be above 0 and below 1 (got {e:g})")
    return e


def ess(weights: np.ndarray) -> float:
    """Effective sample size of normalised weights (Kong, Liu & Wong 1994)."""
    return float(1.0 / np.sum(weights**2))


def systematic(weights: np.ndarray, u: float) -> np.ndarray:
    """Systematic resampling (Kitagawa 1996): R indices, world j copied about R w_j times, from one
    uniform draw ``u`` in [0, 1)."""
    R = weights.size
    edges = np.cumsum(weights)
    edges[-1] = 1.0
    return np.searchsorted(edges, (u + np.arange(R)) / R, side="right").astype(np.int64)


@dataclass
class Step:
    """One observation date: the reports read, the ESS after weighing, and whether worlds were forked."""

    date: str
    day: int
    observations: list[str]
    ess: float
    resampled: bool
    simulated: int  # worlds simulated so far, the prior run included


@dataclass
class Filtered:
    """A particle filter's state after reading the news up to a date, and how it got there."""

    scenario: Scenario
    settings: Settings
    as_of: str
    prior_path: np.ndarray
    path: np.ndarray
    weights: np.ndarray
    lineage: Lineage
    steps: list[Step] = field(default_factory=list)
    prequential: list[dict] = field(default_factory=list)
    prior_loglik: np.ndarray | None = None
    curves: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (as of, days x classes)

    @property
    def worlds(self) -> int:
        return self.path.shape[0]

    def base_weights(self) -> np.ndarray:
        """Each prior world's share of the posterior: the weights of its copies, summed."""
        return np.bincount(self.lineage.ancestors(0), weights=self.weights, minlength=self.worlds)


def check_as_of(sc: Scenario, as_of: str) -> int:
    """The as-of date's day, or a one-line error when it is not a date of the scenario's calendar."""
    try:
        d = date.fromisoformat(as_of)
    except ValueError:
        raise UserError(f"--as-of '{as_of}' is not a date (YYYY-MM-DD)") from None
    day = (d - date.fromisoformat(sc.calendar.start)).days
    if not 0 <= day <= sc.calendar.horizon_days:
        end = date.fromisoformat(sc.calendar.start) + timedelta(days=sc.calendar.horizon_days)
        raise UserError(
            f"--as-of {as_of} is outside {sc.name}'s calendar: {sc.calendar.start} to {end.isoformat()}"
        )
    return day


def by_date(
    obs: Observations, until: int | None, sc: Scenario
) -> list[tuple[int, list[tuple[str, Observation]]]]:
    """The observations dated up to day ``until`` (all when None), grouped by day in date order."""
    groups: dict[int, list[tuple[str, Observation]]] = {}
    for oid, o in sorted(obs.observations.items(), key=lambda kv: (kv[1].date, kv[0])):
        d = day_of(sc, o)
        if until is None or d <= until:
            groups.setdefault(d, []).append((oid, o))
    return sorted(groups.items())


def prior_path(sc: Scenario, executor: Executor | None = None) -> np.ndarray:
    """The package in force at the end of each day in every world of the scenario's run."""
    return run_generation(sc, Lineage(sc.seed, sc.replications), executor)


def condition(
    sc: Scenario,
    obs: Observations,
    as_of: str | None = None,
    settings: Settings = Settings(),
    executor: Executor | None = None,
    prior: np.ndarray | None = None,
) -> Filtered:
    """Run the particle filter over the observations dated up to ``as_of`` (all when None)."""
    until = check_as_of(sc, as_of) if as_of is not None else None
    e = check_error(settings.reporting_error)
    if not 0 <= settings.ess_floor <= 1:
        raise UserError(
            f"the effective sample size floor is a share of the worlds, 0 to 1 (got {settings.ess_floor:g})"
        )
    R = sc.replications
    budget = settings.budget_for(R)
    if budget < R:
        raise UserError(f"--budget {budget:,} is below the {R:,} worlds of the prior run")
    base = prior if prior is not None else prior_path(sc, executor)
    lineage, path = Lineage(sc.seed, R), base
    w = np.full(R, 1.0 / R)
    simulated = R
    dated = by_date(obs, until, sc)
    end = until if until is not None else (dated[-1][0] if dated else 0)  # forecasts start here
    out = Filtered(sc, settings, _date(sc, end), base, path, w, lineage)
    out.curves.append(("prior", class_curve(sc, base, w)))
    loglik = np.zeros(R)
    for day, items in dated:
        for oid, o in items:
            a = asked(sc, o)
            p = forecast(sc, path, w, a)
            static = forecast(sc, base, np.full(R, 1.0 / R), a)
            out.prequential.append(_pq_row(obs, oid, o, a, p, static, settings.log_floor))
        lik = likelihood(sc, path, (o for _, o in items), e)
        loglik += libm.log(likelihood(sc, base, (o for _, o in items), e))
        w = w * lik
        w = w / w.sum()
        n_eff = ess(w)
        resampled = n_eff < settings.ess_floor * R
        if resampled:
            if simulated + R > budget:
                raise UserError(
                    f"resampling on {_date(sc, day)} (effective sample size {n_eff:,.1f} of {R:,}) needs "
                    f"{R:,} more worlds but the budget of {budget:,} is spent; "
                    "raise --budget or lower --ess-floor"
                )
            gen = len(lineage.forks) + 1
            seq = np.random.SeedSequence(sc.seed, spawn_key=(RESAMPLE_KEY, gen))
            u = float(np.random.default_rng(seq).random())
            parents = systematic(w, u)
            lineage = lineage.then(day, parents)
            path = run_generation(sc, lineage, executor)
            w = np.full(R, 1.0 / R)
            simulated += R
        out.steps.append(Step(_date(sc, day), day, [oid for oid, _ in items], n_eff, resampled, simulated))
        out.curves.append((_date(sc, day), class_curve(sc, path, w)))
    out.path, out.weights, out.lineage, out.prior_loglik = path, w, lineage, loglik
    return out


def _date(sc: Scenario, day: int) -> str:
    return (date.fromisoformat(sc.calendar.start) + timedelta(days=int(day))).isoformat()


def _pq_row(obs: Observations, oid: str, o: Observation, a: Asked, p, static, floor: float) -> dict:
    """One observation's prequential, static and reference forecasts of what happened, scored."""
    k = a.observed
    given = {"prequential": p, "static": static, UNIFORM: uniform(a)}
    for fid, named in obs.forecasts.items():  # a named forecast scores only where it gives one
        given[fid] = np.asarray(spread(named.p[oid], a.categories)) if oid in named.p else None
    row = {
        "observation": oid,
        "question": a.question,
        "date": o.date,
        "day": a.day,
        "kind": a.kind,
        "asked": a.target or "",
        "observed": a.categories[k],
        "forecast": " ".join(f"{c}={q:.6f}" for c, q in zip(a.categories, p, strict=True)),
    }
    for who, q in given.items():
        row[f"p_{who}"] = float(q[k]) if q is not None else float("nan")
    for who, q in given.items():
        row[f"brier_{who}"] = brier(q, k) if q is not None else float("nan")
        row[f"log_{who}"] = log_score(q, k, floor) if q is not None else float("nan")
    return row


# ---------------------------------------------------------------- what the news changed


def forecast_table(f: Filtered) -> pd.DataFrame:
    """Day by day from the as-of date to the horizon: each class's share before (the prior run) and
    after conditioning."""
    sc = f.scenario
    start = date.fromisoformat(f.as_of)
    first = (start - date.fromisoformat(sc.calendar.start)).days
    cats = [*sc.classes, "no_agreement"]
    R = f.worlds
    rows = []
    for day in range(first, sc.calendar.horizon_days + 1):
        before = class_shares(sc, f.prior_path, np.full(R, 1.0 / R), day)
        after = class_shares(sc, f.path, f.weights, day)
        for c, cid in enumerate(cats):
            rows.append(
                {
                    "day": day,
                    "date": _date(sc, day),
                    "outcome": cid,
                    "prior": before[c],
                    "posterior": after[c],
                }
            )
    return pd.DataFrame(rows)


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: Iterable[float]) -> list[float]:
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    cw = cw / cw[-1]
    return [float(x[order][min(np.searchsorted(cw, q), x.size - 1)]) for q in qs]


def draws_table(f: Filtered) -> pd.DataFrame:
    """Prior vs posterior of each world's own draws: mean, sd and 5-95% range; the shift of the mean
    in prior sds; a quantity drawn the same in every world (no stated uncertainty) is left out."""
    sc = f.scenario
    draws = world_draws(sc, sc.seed, f.worlds)
    wb = f.base_weights()
    uniform = np.full(f.worlds, 1.0 / f.worlds)
    rows = []
    for name, x in draws.items():
        if np.ptp(x) == 0:
            continue
        pm, psd = float(x.mean()), float(x.std())
        qm = float(np.sum(wb * x))
        qsd = float(np.sqrt(np.sum(wb * (x - qm) ** 2)))
        p5, p95 = weighted_quantiles(x, uniform, (0.05, 0.95))
        q5, q95 = weighted_quantiles(x, wb, (0.05, 0.95))
        rows.append(
            {
                "quantity": name,
                "prior_mean": pm,
                "prior_sd": psd,
                "prior_p5": p5,
                "prior_p95": p95,
                "posterior_mean": qm,
                "posterior_sd": qsd,
                "posterior_p5": q5,
                "posterior_p95": q95,
                "shift_in_prior_sd": (qm - pm) / psd if psd > 0 else 0.0,
                "sd_ratio": qsd / psd if psd > 0 else 1.0,
            }
        )
    return pd.DataFrame(rows)


def best_worlds(f: Filtered, n: int = 5) -> pd.DataFrame:
    """The prior run's worlds most likely to have produced the reports (each replays with ``negsim
    trace --replication J``), with their log-likelihood and share of the posterior."""
    ll = f.prior_loglik if f.prior_loglik is not None else np.zeros(f.worlds)
    order = np.lexsort((np.arange(ll.size), -ll))[:n]
    wb = f.base_weights()
    return pd.DataFrame(
        {
            "replication": order,
            "log_likelihood": ll[order],
            "posterior_share": wb[order],
        }
    )


def steps_table(f: Filtered) -> pd.DataFrame:
    cols = ["date", "day", "observations", "ess", "resampled", "simulated"]
    rows = [{**s.__dict__, "observations": " ".join(s.observations)} for s in f.steps]
    return pd.DataFrame(rows, columns=cols)


def prequential_table(f: Filtered) -> pd.DataFrame:
    return pd.DataFrame(f.prequential)


def prequential_summary(f: Filtered) -> pd.DataFrame:
    """Mean Brier and log scores of the prequential, static, uniform and named forecasts, each over
    the observations it gives probabilities for."""
    t = prequential_table(f)
    who_all = [c[len("brier_") :] for c in t.columns if c.startswith("brier_")]
    rows = []
    for who in who_all or ["prequential", "static", UNIFORM]:
        covered = t[t[f"brier_{who}"].notna()] if len(t) else t
        rows.append(
            {
                "forecast": who,
                "observations": len(covered),
                "brier": float(covered[f"brier_{who}"].mean()) if len(covered) else np.nan,
                "log": float(covered[f"log_{who}"].mean()) if len(covered) else np.nan,
                "log_floor": f.settings.log_floor,
            }
        )
    return pd.DataFrame(rows)


def class_curve(sc: Scenario, path: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(days, classes) the weighted share of worlds with each class in force, day 0 to the horizon."""
    return np.stack([class_shares(sc, path, weights, d) for d in range(sc.calendar.horizon_days + 1)])


def moving_table(f: Filtered) -> pd.DataFrame:
    """The class shares day by day as forecast before any news ("prior") and after each observation
    date: the forecast moving as the news comes in."""
    sc = f.scenario
    cats = [*sc.classes, "no_agreement"]
    rows = []
    for as_of, curve in f.curves:
        for day in range(curve.shape[0]):
            for c, cid in enumerate(cats):
                rows.append({"as_of": as_of, "day": day, "outcome": cid, "share": float(curve[day, c])})
    return pd.DataFrame(rows)
