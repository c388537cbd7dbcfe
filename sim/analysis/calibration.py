"""Revising a scenario's stated assumptions against what happened: ABC-SMC through pyabc.

Approximate Bayesian computation with sequential Monte Carlo (Klinger, Rickert & Hasenauer 2018,
"pyABC: distributed, likelihood-free inference", Bioinformatics 34(20); the algorithm of Toni et al.
2009 and Beaumont et al. 2009) draws scenario-level values from their prior, simulates worlds with
them, and keeps the values whose simulated forecast scores well on the observations, over populations
of shrinking tolerance.

- **Parameters** are numeric fields of the scenario addressed by dotted paths (as ``sweep`` does) that
  sit in a block marked ``assumption``: only an assumed number may be revised by data. The prior of
  an uncertain value's ``mean`` is normal with its stated ``sd``; any other field needs an allowed
  range (``PATH=LO:HI``, a uniform prior).
- **Acceptance**, two methods:

  - ``reports`` (the default): exact inference under the reports' own error model. The likelihood of
    the reports in one simulated world is the one ``update`` weighs worlds with (a report is right
    with probability 1 - e, names each other category with e / (K - 1)); a particle's likelihood is
    its mean over the particle's ``worlds`` worlds, an unbiased estimate. pyabc's stochastic acceptor
    keeps a particle with probability likelihood / its maximum (Wilkinson 2013, "Approximate Bayesian
    computation (ABC) gives exact results under the assumption of model error", SAGMB 12(2)),
    tempered over the populations and exact in the last, at temperature 1 (Klinger et al. 2018's
    ``Temperature``); with an unbiased estimate of the likelihood the accepted particles still follow
    the exact posterior (the pseudo-marginal argument, Andrieu & Roberts 2009, Ann. Stat. 37(2)).
  - ``brier``: a distance, the mean Brier score (Brier 1950) over the observations of the forecast
    made by ``worlds`` simulated worlds, under a shrinking tolerance. With one world per particle the
    distance is twice the share of observations the world gets wrong: rejection ABC on the
    observations themselves, approximate at any tolerance above 0 (its posterior is wider than the
    exact one: the simulation-based calibration test shows it).
- **Deterministic**: pyabc's mapping sampler, given one seed per particle evaluation (derived from the
  run's seed, the population and the place in it), so the same seed gives the same posterior for any
  number of workers (their ``map`` keeps the order).
- **History** in SQLite beside the results (pyabc's own), so a calibration can be inspected and resumed.

The posterior file (TOML) lists, per parameter, the prior and the weighted posterior draws (the
accepted particles). :func:`apply_posterior` gives the calibrated scenario: each world draws one
particle by its weight and plays with its values (``sim.experiments.mixture``): the posterior
predictive mixture, which carries the assumptions' uncertainty left after the data as well as the
worlds' own.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from sim.analysis.conditioning import DEFAULT_ERROR, Weighted, check_error, forecast
from sim.analysis.scoring import asked
from sim.engine import libm
from sim.errors import UserError, show
from sim.experiments.forks import Lineage, run_generation
from sim.experiments.sweeps import build_point, lookup, numeric_kind, scenario_raw
from sim.scenario import Scenario
from sim.scenario.observations import Observations
from sim.scenario.posterior import Posterior, particles, with_particles

POSTERIOR_FORMAT = 1


@dataclass(frozen=True)
class Param:
    """A revisable value: its path, its value in the file, and its prior (normal or uniform)."""

    path: str
    value: float
    prior: str  # "normal" or "uniform"
    a: float  # normal: mean; uniform: low
    b: float  # normal: sd; uniform: high
    sd_path: str | None = None  # the per-world spread of an uncertain value's mean

    def rv(self):
        import pyabc

        return (
            pyabc.RV("norm", self.a, self.b)
            if self.prior == "normal"
            else pyabc.RV("uniform", self.a, self.b - self.a)
        )

    def prior_sd(self) -> float:
        return self.b if self.prior == "normal" else (self.b - self.a) / math.sqrt(12)

    def prior_mean(self) -> float:
        return self.a if self.prior == "normal" else (self.a + self.b) / 2


def check_assumption(sc: Scenario, raw: dict[str, Any], path: str) -> dict[str, Any]:
    """The block holding ``path``, if ``path`` is a continuous number the file marks as an assumption;
    otherwise a one-line error saying why it cannot be calibrated."""
    kind = numeric_kind(raw, path)  # one-line error for a missing or non-numeric field
    parent_path = path.rpartition(".")[0]
    parent = lookup(raw, parent_path) if parent_path else raw
    if not isinstance(parent, dict) or not parent.get("assumption"):
        raise UserError(
            f"'{show(path)}' is not an assumption of {sc.name}: only values in a block with "
            "'assumption = ...' can be calibrated"
        )
    if kind is int:
        raise UserError(f"'{show(path)}' holds whole numbers; calibrate a continuous value")
    return parent


def parse_param(sc: Scenario, raw: dict[str, Any], spec: str) -> Param:
    """``PATH`` (an uncertain value's mean with a stated sd) or ``PATH=LO:HI`` (an allowed range)."""
    path, eq, rng = spec.partition("=")
    path = path.strip()
    parent = check_assumption(sc, raw, path)
    parent_path, _, leaf = path.rpartition(".")
    value = float(lookup(raw, path))
    if eq:
        try:
            lo, hi = (float(x) for x in rng.split(":"))
        except ValueError:
            raise UserError(f"--params '{show(spec)}': expected PATH or PATH=LO:HI with numbers") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise UserError(f"--params '{show(spec)}': LO must be below HI, both finite")
        return Param(
            path, value, "uniform", lo, hi, f"{parent_path}.sd" if leaf == "mean" and "sd" in parent else None
        )
    if leaf == "mean" and float(parent.get("sd", 0.0)) > 0:
        return Param(path, value, "normal", value, float(parent["sd"]), f"{parent_path}.sd")
    raise UserError(
        f"'{show(path)}' states no uncertainty (no sd beside it); give an allowed range: {show(path)}=LO:HI"
    )


def default_params(sc: Scenario) -> list[str]:
    """Each party's opening margin and concession speed, where the file states their uncertainty."""
    raw = scenario_raw(sc)
    out = []
    for pid, p in raw["parties"].items():
        for field in ("margin", "concession"):
            node = p.get(field) or {}
            if node.get("sd", 0) > 0 and node.get("assumption"):
                out.append(f"parties.{pid}.{field}.mean")
    return out


def parse_params(sc: Scenario, specs: Sequence[str]) -> list[Param]:
    raw = scenario_raw(sc)
    specs = list(specs) or default_params(sc)
    if not specs:
        raise UserError(f"{sc.name} states no uncertain margin or concession: name parameters with --params")
    params = [parse_param(sc, raw, s) for s in specs]
    paths = [p.path for p in params]
    if len(set(paths)) != len(paths):
        raise UserError("--params names a parameter twice")
    return params


def with_values(sc: Scenario, params: Sequence[Param], values: Sequence[float], **update: Any) -> Scenario:
    """The scenario with each parameter set (validated like a sweep point)."""
    raw = scenario_raw(sc)
    axes = [SimpleNamespace(path=p.path) for p in params]
    out = build_point(sc, raw, axes, [float(v) for v in values]).scenario
    return out.model_copy(update=update) if update else out


# ---------------------------------------------------------------- the model pyabc calls


def observed_vector(sc: Scenario, obs: Observations) -> np.ndarray:
    """The observations as one-hot vectors, concatenated in date order (what a perfect forecast says)."""
    parts = []
    for _, o in _items(obs):
        a = asked(sc, o)
        v = np.zeros(len(a.categories))
        v[a.observed] = 1.0
        parts.append(v)
    return np.concatenate(parts)


def _items(obs: Observations):
    return sorted(obs.observations.items(), key=lambda kv: (kv[1].date, kv[0]))


def observed_codes(sc: Scenario, obs: Observations) -> np.ndarray:
    """(n,) the category each observation reports, in date order."""
    return np.array([asked(sc, o).observed for _, o in _items(obs)], dtype=np.int64)


def observed_stats(sc: Scenario, obs: Observations) -> dict[str, np.ndarray]:
    """What pyabc compares a simulation with: the reports as one-hot forecasts and as categories."""
    return {"p": observed_vector(sc, obs), "codes": observed_codes(sc, obs)}


class ScenarioModel:
    """pyabc's model: parameter values -> ``worlds`` simulated worlds' answers to every observation's
    question (``codes``, worlds x observations) and their forecast of it (``p``, concatenated)."""

    def __init__(self, sc: Scenario, params: Sequence[Param], obs: Observations, worlds: int) -> None:
        self.sc, self.params, self.obs, self.worlds = sc, list(params), obs, worlds

    def __call__(self, pars) -> dict[str, np.ndarray]:
        seed = int(np.random.randint(0, 2**31 - 1))  # seeded per particle by the sampler
        values = [float(pars[p.path]) for p in self.params]
        try:
            sc = with_values(self.sc, self.params, values, replications=self.worlds, seed=seed)
        except UserError:  # outside the schema: no world, infinitely far, never accepted
            n = len(self.obs.observations)
            return {
                "p": np.full(observed_vector(self.sc, self.obs).size, np.nan),
                "codes": np.full((1, n), -1),
            }
        path = run_generation(sc, Lineage(seed, self.worlds))
        view = Weighted(sc, path, np.full(self.worlds, 1.0 / self.worlds))
        qs = [asked(sc, o) for _, o in _items(self.obs)]
        return {
            "p": np.concatenate([view.answer(a) for a in qs]),
            "codes": np.stack([view.codes(a) for a in qs], axis=1),
        }


class MeanBrier:
    """The distance: mean Brier score of the simulated forecast over the observations (an invalid
    parameter set, outside what the schema allows, is infinitely far)."""

    def __init__(self, n_obs: int) -> None:
        self.n_obs = n_obs

    def __call__(self, x: dict, x0: dict) -> float:
        d = float(np.sum((x["p"] - x0["p"]) ** 2)) / self.n_obs
        return d if math.isfinite(d) else math.inf


def reports_kernel(sizes: Sequence[int], error: float):
    """The reports' likelihood as a pyabc stochastic kernel (log scale): see :class:`ReportsKernel`."""
    from pyabc.distance import StochasticKernel
    from pyabc.distance.kernel import SCALE_LOG

    class ReportsKernel(StochasticKernel):
        """log of the mean over a particle's worlds of the probability of every report in that world:
        right with probability 1 - e, each of the other K - 1 categories with e / (K - 1), reports
        independent given the world (``sim.analysis.conditioning.likelihood``, which ``update``
        weighs worlds with). Its maximum, every report right, is what the acceptor divides by."""

        def __init__(self) -> None:
            k = np.asarray(sizes, dtype=float)
            self.right, self.wrong = math.log1p(-error), libm.log(error / (k - 1))
            super().__init__(ret_scale=SCALE_LOG, keys=["codes"], pdf_max=len(k) * self.right)

        def __call__(self, x: dict, x_0: dict, t: int | None = None, par: dict | None = None) -> float:
            codes = np.asarray(x["codes"])
            if codes.min() < 0:
                return -math.inf  # a parameter set the schema refuses
            per_world = np.where(codes == np.asarray(x_0["codes"])[None, :], self.right, self.wrong).sum(
                axis=1
            )
            return float(logsumexp(per_world) - math.log(len(per_world)))

    return ReportsKernel()


METHODS = ("reports", "brier")


def quiet_pyabc() -> None:
    """pyabc logs each population at INFO; a successful calibration prints only its own report."""
    for name in (
        "ABC",
        "ABC.History",
        "ABC.Sampler",
        "ABC.Distance",
        "ABC.Epsilon",
        "ABC.Acceptor",
        "ABC.Transition",
        "ABC.Population",
        "ABC.Predictor",
        "ABC.Model",
        "ABC.Adaptive",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass
class Calibration:
    scenario: Scenario
    params: list[Param]
    observations: Observations
    posterior: pd.DataFrame  # one row per particle: the parameters and its weight
    populations: pd.DataFrame  # t, epsilon (the temperature, for ``reports``), particles, samples
    database: str
    worlds: int
    seconds: float = 0.0
    method: str = "reports"
    reporting_error: float = DEFAULT_ERROR


def calibrate(
    sc: Scenario,
    obs: Observations,
    params: Sequence[Param],
    database: Path,
    population: int = 100,
    generations: int = 5,
    worlds: int = 1,
    seed: int | None = None,
    map_=map,
    fresh: bool = True,
    method: str = "reports",
    reporting_error: float = DEFAULT_ERROR,
) -> Calibration:
    """ABC-SMC over ``params``: ``generations`` populations of ``population`` particles, each
    simulating ``worlds`` worlds; the history in SQLite at ``database`` (resumed unless ``fresh``).
    ``method``: ``reports`` (exact under the reporting error ``reporting_error``) or ``brier``."""
    import time

    import pyabc

    from sim.analysis.abc_sampler import SeededMappingSampler

    quiet_pyabc()
    seed = sc.seed if seed is None else seed
    if population < 2 or generations < 1 or worlds < 1:
        raise UserError(
            "a calibration needs a population of 2 or more, 1 or more generations, 1 or more worlds"
        )
    if method not in METHODS:
        raise UserError(f"the calibration method must be one of {', '.join(METHODS)} (got {show(method)})")
    check_error(reporting_error)
    prior = pyabc.Distribution(**{p.path: p.rv() for p in params})
    model = ScenarioModel(sc, params, obs, worlds)
    observed = observed_stats(sc, obs)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    if method == "reports":
        sizes = [len(asked(sc, o).categories) for _, o in _items(obs)]
        scheme = {
            "distance_function": reports_kernel(sizes, reporting_error),
            "eps": pyabc.Temperature(),
            # Normalised by the largest likelihood found so far, not the largest possible (every
            # report right: with one report wrong in every world that would keep 1 particle in 50);
            # a particle above the norm is weighted up, which keeps the posterior exact (rejection
            # control, Liu 2001, as pyabc's acceptor implements it).
            "acceptor": pyabc.StochasticAcceptor(),
        }
    else:
        scheme = {"distance_function": MeanBrier(len(obs.observations))}
    abc = pyabc.ABCSMC(
        model, prior, population_size=population, sampler=SeededMappingSampler(seed, map_), **scheme
    )
    db = f"sqlite:///{Path(database).resolve()}"
    t0 = time.perf_counter()
    if not fresh and Path(database).exists():
        abc.load(db)
        done = abc.history.max_t + 1
    else:
        Path(database).unlink(missing_ok=True)
        abc.new(db, observed)
        done = 0
    if generations > done:
        stop = {"minimum_epsilon": 0.0} if method == "brier" else {}  # a temperature ends at 1 itself
        history = abc.run(max_nr_populations=generations - done, **stop)
    else:
        history = abc.history
    seconds = time.perf_counter() - t0
    frame, w = history.get_distribution(m=0, t=history.max_t)
    post = frame[[p.path for p in params]].reset_index(drop=True).copy()
    post["weight"] = np.asarray(w) / np.sum(w)
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0][["t", "epsilon", "particles", "samples"]].reset_index(drop=True)
    return Calibration(
        sc, list(params), obs, post, pops, str(database), worlds, seconds, method, reporting_error
    )


# ---------------------------------------------------------------- what the data constrained


def prior_posterior(cal: Calibration) -> pd.DataFrame:
    """Per parameter: its value in the file, prior mean and sd, posterior mean, sd and 5-95% range,
    and the posterior sd as a share of the prior's (near 1: the data leave it alone)."""
    from sim.analysis.conditioning import weighted_quantiles

    w = cal.posterior["weight"].to_numpy()
    rows = []
    for p in cal.params:
        x = cal.posterior[p.path].to_numpy()
        m = float(np.sum(w * x))
        sd = float(np.sqrt(np.sum(w * (x - m) ** 2)))
        q5, q95 = weighted_quantiles(x, w, (0.05, 0.95))
        rows.append(
            {
                "parameter": p.path,
                "in_file": p.value,
                "prior": f"{p.prior}({p.a:g}, {p.b:g})",
                "prior_mean": p.prior_mean(),
                "prior_sd": p.prior_sd(),
                "posterior_mean": m,
                "posterior_sd": sd,
                "posterior_p5": q5,
                "posterior_p95": q95,
                "sd_ratio": sd / p.prior_sd(),
            }
        )
    return pd.DataFrame(rows)


def predictive_check(cal: Calibration, worlds: int = 400, seed: int | None = None) -> pd.DataFrame:
    """Posterior predictive check: worlds simulated with values drawn from the posterior (one draw per
    group of worlds) forecast every observation; beside it the forecast of the file's values. A
    p_observed far below the others marks an observation the calibrated scenario still cannot explain."""
    sc, obs = cal.scenario, cal.observations
    seed = sc.seed if seed is None else seed
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(9,)))
    draws = 20
    picks = rng.choice(len(cal.posterior), size=draws, p=cal.posterior["weight"].to_numpy())
    per = max(worlds // draws, 1)
    items = _items(obs)
    post = np.zeros(len(items))
    for i, k in enumerate(picks):
        values = [float(cal.posterior[p.path].iloc[k]) for p in cal.params]
        s = with_values(sc, cal.params, values, replications=per, seed=seed + i)
        post += _p_observed(s, items, run_generation(s, Lineage(s.seed, per))) / draws
    base = sc.model_copy(update={"replications": per * draws, "seed": seed})
    prior = _p_observed(base, items, run_generation(base, Lineage(seed, per * draws)))
    return pd.DataFrame(
        {
            "observation": [oid for oid, _ in items],
            "date": [o.date for _, o in items],
            "question": [o.question for _, o in items],
            "kind": [asked(sc, o).kind for _, o in items],
            "observed": [asked(sc, o).categories[asked(sc, o).observed] for _, o in items],
            "p_observed_file": prior,
            "p_observed_posterior": post,
        }
    )


def _p_observed(sc: Scenario, items, path: np.ndarray) -> np.ndarray:
    w = np.full(path.shape[0], 1.0 / path.shape[0])
    qs = [asked(sc, o) for _, o in items]
    return np.array([forecast(sc, path, w, a)[a.observed] for a in qs])


# ---------------------------------------------------------------- the posterior file


def posterior_document(cal: Calibration, table: pd.DataFrame) -> dict[str, Any]:
    sc = cal.scenario
    return {
        "format": POSTERIOR_FORMAT,
        "scenario": sc.name,
        "scenario_sha256": sc.sha256,
        "observations": Path(cal.observations.path).name if cal.observations.path else "",
        "observation_ids": sorted(cal.observations.observations),
        "worlds_per_particle": cal.worlds,
        "parameters": {
            p.path: {
                "prior": p.prior,
                "a": p.a,
                "b": p.b,
                "in_file": p.value,
                "posterior_mean": float(r["posterior_mean"]),
                "posterior_sd": float(r["posterior_sd"]),
                "draws": [float(v) for v in cal.posterior[p.path]],
            }
            for p, (_, r) in zip(cal.params, table.iterrows(), strict=True)
        },
        "weights": [float(v) for v in cal.posterior["weight"]],
    }


def apply_posterior(sc: Scenario, post: Posterior) -> Scenario:
    """The calibrated scenario: each world draws a particle of the posterior by its weight and plays
    with its values (``sim.experiments.mixture``), so a forecast carries the assumptions' uncertainty
    left after the data (the spread of the particles) as well as the worlds' own (the file's sds).
    Every particle is checked here, before any work: each path must be an assumption of ``sc`` and
    each particle must make a valid scenario."""
    from sim.experiments.mixture import particle_scenario

    raw = scenario_raw(sc)
    file = show(Path(post.path).name or "posterior")
    for path in post.parameters:
        try:
            check_assumption(sc, raw, path)
        except UserError as e:
            raise UserError(f"{file}: parameters.{show(path)}: {e}") from None
    parts = particles(post)
    base = with_particles(sc, None)
    for k in range(len(parts.weights)):
        try:
            particle_scenario(base, parts, k)
        except UserError as e:
            raise UserError(f"{file}: particle {k} does not make a valid {sc.name}: {e}") from None
    return with_particles(sc, parts)
