"""Which assumption drives the result: one-at-a-time tornado and global screening (SALib).

**Tornado.** Each numeric parameter is moved down and up, one at a time, by its stated uncertainty:

- a parameter with a mean and an sd (``parties.russia.war.land.mean``) by its sd;
- a party's option value by the scenario's ``uncertainty.value_sd``;
- a salience weight by the sd its Dirichlet draw has, sqrt(w (1 - w) / (concentration + 1)), with
  the party's other weights rescaled to keep the sum at 1 (as a sweep does);
- where none is stated, by a share (``share``, default 10%) of its value; a parameter at zero by
  that share of its allowed range, where the schema bounds it on both sides within a width of 1
  (probabilities, strengths, weights, option values), so a parameter at zero moves too. A share of
  a wide range would be no step at all for a daily value of 0.001 (a range of [-10, 10] makes it
  2), so a parameter at zero whose range is open or wide is listed as not moved, with the reason.

Moves stay inside the allowed range (one side may then be no move); whole-number fields move by at
least 1 (from zero too). Every point runs with the scenario's seed (common random numbers), so a
difference between points comes from the parameter, not from sampling noise, and a parameter the
model never reads changes nothing at all. The change in each class's share in force at the horizon (and in any
agreement) comes with Newcombe's interval for two independent proportions, which is conservative
here because the points share their random numbers.

**Screening.** Morris (1991), "Factorial sampling plans for preliminary computational experiments",
Technometrics 33(2): elementary effects over trajectories through a grid of the chosen parameters'
tornado ranges, ranked by mu* (Campolongo, Cariboni & Saltelli 2007); Sobol' indices (Saltelli et al.
2010) on request. Both through SALib (an optional extra: ``pip install negsim[analysis]``).

Points run on the same executors as sweeps and are cached the same way (one file per point, keyed by
its resolved content and seed), so an interrupted analysis resumes where it stopped.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from sim.errors import UserError
from sim.experiments import sweeps
from sim.scenario import Scenario
from sim.scenario.schema import Scenario as ScenarioModel

SKIPPED = (
    re.compile(r"^(seed|replications)$"),
    re.compile(r"^calendar\.horizon_days$"),  # the clock and the output horizon
    re.compile(r"\.sd$"),  # an uncertainty, not a parameter of a world
    re.compile(r"^uncertainty\."),
)
OPTION_VALUE = re.compile(r"^parties\.[^.]+\.(positions\.[^.]+\.values|veto\.values\.[^.]+)\.[^.]+$")
WEIGHT = re.compile(r"^parties\.[^.]+\.(positions\.[^.]+\.weight|veto\.weights\.[^.]+)$")
SHARE = 0.1


@dataclass(frozen=True)
class Move:
    """A parameter's tornado move: its value, its low and high values and the rule that set them."""

    path: str
    base: float
    low: float
    high: float
    rule: str
    integer: bool


# ---------------------------------------------------------------- allowed ranges


def _unwrap(tp: Any, meta: list) -> Any:
    """Strip Annotated (collecting its constraints) and Optional."""
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            args = typing.get_args(tp)
            for m in args[1:]:
                meta.extend(getattr(m, "metadata", [m]))
            tp = args[0]
        elif typing.get_origin(tp) in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = members[0]
        else:
            return tp


def bounds(path: str) -> tuple[float, float]:
    """The range the schema allows the field at ``path`` (-inf/inf where open)."""
    tp: Any = ScenarioModel
    meta: list = []
    for key in path.split("."):
        meta = []
        tp = _unwrap(tp, meta)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if key not in tp.model_fields:
                return -math.inf, math.inf
            info = tp.model_fields[key]
            meta = list(info.metadata)
            tp = info.annotation
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return -math.inf, math.inf
    _unwrap(tp, meta)
    lo, hi = -math.inf, math.inf
    for m in meta:
        for name in ("ge", "gt"):
            if getattr(m, name, None) is not None:
                lo = max(lo, float(getattr(m, name)))
        for name in ("le", "lt"):
            if getattr(m, name, None) is not None:
                hi = min(hi, float(getattr(m, name)))
    return lo, hi


# ---------------------------------------------------------------- tornado moves


def candidate_paths(raw: dict[str, Any]) -> list[str]:
    """Every numeric parameter of a world (not the seed, the clock, the horizon or the uncertainties)."""
    return [p for p in sweeps.numeric_paths(raw) if not any(rx.search(p) for rx in SKIPPED)]


def move(sc: Scenario, raw: dict[str, Any], path: str, share: float = SHARE) -> Move | str:
    """The tornado move of one parameter, or the reason it is not moved."""
    value = sweeps.lookup(raw, path)
    kind = sweeps.numeric_kind(raw, path)
    base = float(value)
    lo, hi = bounds(path)
    step, rule = 0.0, ""
    parent, _, leaf = path.rpartition(".")
    if leaf == "mean" and float(sweeps.lookup(raw, parent).get("sd", 0.0)) > 0:
        step, rule = float(sweeps.lookup(raw, parent)["sd"]), "its sd"
    elif OPTION_VALUE.match(path) and sc.uncertainty.value_sd > 0:
        step, rule = sc.uncertainty.value_sd, "uncertainty.value_sd"
    elif WEIGHT.match(path) and sc.uncertainty.weight_concentration > 0:
        c = sc.uncertainty.weight_concentration
        step, rule = math.sqrt(base * (1 - base) / (c + 1)), "Dirichlet sd of the weight"
    if step == 0 and base != 0:
        step, rule = share * abs(base), f"{share:g} of its value"
    if step == 0 and math.isfinite(lo) and math.isfinite(hi) and hi - lo <= 1:
        step, rule = share * (hi - lo), f"{share:g} of its range [{lo:g}, {hi:g}]"
    if step == 0 and kind is int:
        step, rule = 1.0, "one (a whole number)"
    if step == 0:
        return "at zero, with no sd and no narrow range to take a step from"
    if kind is int:
        step = max(1.0, round(step))
    low, high = max(lo, base - step), min(hi, base + step)
    if kind is int:
        low, high = math.ceil(low), math.floor(high)
    if low == base and high == base:
        return "its allowed range leaves no room to move"
    return Move(path, base, low, high, rule, kind is int)


def plan_moves(
    sc: Scenario, params: Sequence[str] | None = None, share: float = SHARE
) -> tuple[list[Move], dict[str, str]]:
    """The tornado moves of ``params`` (default: every parameter of a world), and those not moved."""
    raw = sweeps.scenario_raw(sc)
    paths = list(params) if params else candidate_paths(raw)
    moves, unmoved = [], {}
    for path in paths:
        m = move(sc, raw, path, share)
        if isinstance(m, Move):
            moves.append(m)
        else:
            unmoved[path] = m
    return moves, unmoved


# ---------------------------------------------------------------- running points


def _axis(m: Move) -> sweeps.Axis:
    return sweeps.Axis(m.path, (m.low, m.high), m.base, m.integer)


def _value(m: Move, v: float) -> float | int:
    return round(v) if m.integer else float(v)


def build(
    base: Scenario, raw: dict[str, Any], moves: Sequence[Move], values: Sequence[float]
) -> sweeps.Point:
    """The base scenario with each moved parameter set, validated as a sweep's point is."""
    axes = [_axis(m) for m in moves]
    point = sweeps.build_point(base, raw, axes, [_value(m, v) for m, v in zip(moves, values, strict=True)])
    PATHS[point.key] = tuple(m.path for m in moves)
    return point


def run_points(
    points: Sequence[sweeps.Point],
    outcomes: list[str],
    executor: Executor | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Counts per outcome of every point (by key): cached points are read, the rest run on
    ``executor`` and cached as each completes. A point's values are named by its ``paths``."""
    cache = sweeps.PointCache(cache_dir)
    counts = {p.key: cache.get(p, outcomes) for p in points}
    todo = list({p.key: p for p in points if counts[p.key] is None}.values())

    def done(point: sweeps.Point, c: np.ndarray) -> None:
        axes = [sweeps.Axis(path, (), 0, False) for path in PATHS.get(point.key, ())]
        if len(axes) == len(point.values):
            cache.put(point, outcomes, axes, c)
        counts[point.key] = c
        if progress:
            progress(1)

    sweeps._run_points(todo, executor, done)
    return counts


PATHS: dict[str, tuple[str, ...]] = {}  # point key -> the paths its values set (for the cache files)


def _outcomes(sc: Scenario) -> list[str]:
    return [*sc.classes, "no_agreement", sweeps.AGREEMENT]


# ---------------------------------------------------------------- tornado


@dataclass
class Tornado:
    """Per parameter, side and outcome: the share at the horizon and its change from the base point."""

    base: Scenario
    moves: list[Move]
    unmoved: dict[str, str]
    invalid: dict[str, str]
    frame: pd.DataFrame  # path, rule, side, value, outcome, share, diff, lo, hi
    base_shares: pd.Series

    def bars(self, outcome: str = sweeps.AGREEMENT) -> pd.DataFrame:
        """One row per parameter with an effect: low and high changes in ``outcome``, sorted by the
        largest change over every outcome."""
        f = self.frame
        wide = f[f["outcome"] == outcome].pivot(
            index="path", columns="side", values=["value", "diff", "lo", "hi"]
        )
        wide.columns = [f"{a}_{b}" for a, b in wide.columns]
        wide = wide.reset_index()
        effect = f.assign(size=f["diff"].abs()).groupby("path")["size"].max()
        wide["largest"] = wide["path"].map(effect)
        rules = {m.path: m for m in self.moves}
        wide.insert(1, "rule", wide["path"].map(lambda p: rules[p].rule))
        wide.insert(2, "base", wide["path"].map(lambda p: rules[p].base))
        wide = wide[wide["largest"] > 0]
        return wide.sort_values(["largest", "path"], ascending=[False, True]).reset_index(drop=True)

    def zero(self) -> list[str]:
        """Parameters whose moves change no outcome's share at all."""
        f = self.frame
        size = f.assign(size=f["diff"].abs()).groupby("path")["size"].max()
        return sorted(size[size == 0].index)


def tornado(
    base: Scenario,
    params: Sequence[str] | None = None,
    share: float = SHARE,
    executor: Executor | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Tornado:
    """Move each parameter down and up (see the module's docstring); run every point with the base's seed."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    moves, unmoved = plan_moves(base, params, share)
    raw = sweeps.scenario_raw(base)
    outcomes = _outcomes(base)
    base_point = build(base, raw, [], [])
    points: dict[tuple[str, str], sweeps.Point] = {}
    invalid: dict[str, str] = {}
    for m in moves:
        for side, v in (("low", m.low), ("high", m.high)):
            if v == m.base:
                points[(m.path, side)] = base_point
                continue
            try:
                points[(m.path, side)] = build(base, raw, [m], [v])
            except UserError as e:
                invalid[f"{m.path} {side}"] = str(e)
                points[(m.path, side)] = base_point
    counts = run_points([base_point, *points.values()], outcomes, executor, cache_dir, progress)
    n = base.replications
    k0 = counts[base_point.key]
    rows = []
    for m in moves:
        for side, v in (("low", m.low), ("high", m.high)):
            k1 = counts[points[(m.path, side)].key]
            for j, outcome in enumerate(outcomes):
                diff = (k1[j] - k0[j]) / n
                if diff == 0:
                    lo = hi = 0.0
                else:
                    lo, hi = confint_proportions_2indep(k1[j], n, k0[j], n, method="newcomb", compare="diff")
                rows.append(
                    {
                        "path": m.path,
                        "rule": m.rule,
                        "side": side,
                        "value": v,
                        "outcome": outcome,
                        "share": k1[j] / n,
                        "diff": diff,
                        "lo": float(lo),
                        "hi": float(hi),
                    }
                )
    frame = pd.DataFrame(rows)
    base_shares = pd.Series(k0 / n, index=outcomes)
    # a side that could not be built was run as the base point: its zero is not a finding
    return Tornado(base, moves, unmoved, invalid, frame, base_shares)


# ---------------------------------------------------------------- global screening (SALib)


def _salib():
    try:
        import SALib  # noqa: F401
    except ImportError:
        raise UserError("screening needs SALib: pip install 'negsim[analysis]'") from None


def salib_problem(bounds_: Sequence[tuple[float, float]]) -> dict:
    """SALib's description of the box of inputs (named x0, x1, ...)."""
    return {
        "num_vars": len(bounds_),
        "names": [f"x{i}" for i in range(len(bounds_))],
        "bounds": [list(map(float, b)) for b in bounds_],
    }


def _ranked(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """The inputs from largest ``by`` down (ties by name), numbered from 1."""
    out = frame.sort_values([by, "param"], ascending=[False, True]).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def morris_design(bounds_: Sequence[tuple[float, float]], trajectories: int, levels: int = 4, seed: int = 0):
    """(problem, X): Morris trajectories over the box ``bounds_`` (X is trajectories * (k + 1) by k)."""
    _salib()
    from SALib.sample import morris as morris_sample

    problem = salib_problem(bounds_)
    return problem, morris_sample.sample(problem, trajectories, num_levels=levels, seed=seed)


def morris_indices(
    problem: dict, X: np.ndarray, Y: np.ndarray, names: Sequence[str], levels: int = 4, seed: int = 0
):
    """mu, mu*, sigma and mu*'s 95% interval of each input, ranked by mu* (largest first)."""
    from SALib.analyze import morris as morris_analyze

    res = morris_analyze.analyze(problem, X, np.asarray(Y, dtype=float), num_levels=levels, seed=seed)
    out = pd.DataFrame(
        {
            "param": list(names),
            "mu": res["mu"],
            "mu_star": res["mu_star"],
            "sigma": res["sigma"],
            "mu_star_conf": res["mu_star_conf"],
        }
    )
    return _ranked(out, "mu_star")


def sobol_design(bounds_: Sequence[tuple[float, float]], base_samples: int, seed: int = 0):
    """(problem, X): Saltelli's sampling for first- and total-order Sobol' indices."""
    _salib()
    from SALib.sample import sobol as sobol_sample

    problem = salib_problem(bounds_)
    return problem, sobol_sample.sample(problem, base_samples, calc_second_order=False, seed=seed)


def sobol_indices(problem: dict, Y: np.ndarray, names: Sequence[str], seed: int = 0):
    """First-order S1 and total ST of each input with 95% intervals, ranked by ST."""
    from SALib.analyze import sobol as sobol_analyze

    res = sobol_analyze.analyze(problem, np.asarray(Y, dtype=float), calc_second_order=False, seed=seed)
    out = pd.DataFrame(
        {
            "param": list(names),
            "S1": res["S1"],
            "S1_conf": res["S1_conf"],
            "ST": res["ST"],
            "ST_conf": res["ST_conf"],
        }
    )
    return _ranked(out, "ST")


@dataclass
class Screening:
    method: str
    params: list[str]
    table: pd.DataFrame  # outcome, rank, param, and the method's indices
    points: int


def screen(
    base: Scenario,
    moves: Sequence[Move],
    method: str = "morris",
    trajectories: int = 10,
    base_samples: int = 64,
    executor: Executor | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Screening:
    """Morris (or Sobol') screening of ``moves`` over their tornado ranges, every outcome's share at
    the horizon as an output; every point runs with the base's seed."""
    if not moves:
        raise UserError("nothing to screen: no parameter with a range to move over")
    box = [(m.low, m.high) for m in moves]
    names = [m.path for m in moves]
    if method == "morris":
        problem, X = morris_design(box, trajectories, seed=base.seed % 2**32)
    elif method == "sobol":
        problem, X = sobol_design(box, base_samples, seed=base.seed % 2**32)
    else:
        raise UserError(f"unknown method '{method}'; allowed: morris, sobol")
    raw = sweeps.scenario_raw(base)
    points = [build(base, raw, moves, row) for row in X]
    outcomes = _outcomes(base)
    counts = run_points(points, outcomes, executor, cache_dir, progress)
    Y = np.array([counts[p.key] for p in points]) / base.replications  # (N, outcomes)
    tables = []
    for j, outcome in enumerate(outcomes):
        if method == "morris":
            t = morris_indices(problem, X, Y[:, j], names, seed=base.seed % 2**32)
        else:
            t = sobol_indices(problem, Y[:, j], names, seed=base.seed % 2**32)
        tables.append(t.assign(outcome=outcome))
    table = pd.concat(tables, ignore_index=True)
    table = table[["outcome", *[c for c in table.columns if c != "outcome"]]]
    return Screening(method, names, table, len(points))
