"""Sweeps: one scenario run over a grid of values of one or more of its numeric parameters.

A parameter is addressed by its dotted path in the validated scenario, defaults included
(``parties.russia.war.land.mean``, ``levers.us_sanctions.strength``, ``dynamics.momentum.drift``).
Every grid point is built and validated before any work starts, so a bad path or a value that breaks
the scenario is one error, not a half-finished sweep. Whole-number fields (``calendar.horizon_days``,
``levers.X.max_uses`` ...) take whole-number grids only.

A salience weight (``parties.P.positions.I.weight`` or ``parties.P.veto.weights.I``) is set to the
grid value and the party's other weights are rescaled in proportion, so they still sum to 1: that is
the question "what if Russia cared more about scope", and no single weight could be swept otherwise.

Every point uses the same seed (common random numbers), so differences between neighbouring points
come from the parameter, not from sampling noise. The chunks of all points go to the executor at
once, so every worker stays busy. Each finished point is cached atomically as ``<key>.json``, where
the key hashes the point's resolved scenario, seed and replications; a rerun after a kill skips
those points and ends with the same bytes as an uninterrupted run.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import __version__
from sim.engine.outcomes import NO_DEAL, check_negotiable
from sim.errors import UserError, show
from sim.experiments import budget
from sim.experiments.chunks import CHUNK, chunk_bounds, compiled_space, run_chunk
from sim.scenario import Scenario, ScenarioError, set_path, validate

AGREEMENT = "any_agreement"
DUMP_EXCLUDE = {"name", "path", "sha256"}  # set by the loader, not part of a scenario's content
# A weight in one of these groups is varied with its siblings rescaled: (group, member, field in member)
WEIGHT_GROUPS = (
    re.compile(r"^(?P<group>parties\.[^.]+\.positions)\.(?P<member>[^.]+)\.(?P<field>weight)$"),
    re.compile(r"^(?P<group>parties\.[^.]+\.veto\.weights)\.(?P<member>[^.]+)$"),
)


@dataclass(frozen=True)
class Axis:
    """One varied parameter: its path, its grid, its value in the unmodified scenario."""

    path: str
    values: tuple[float | int, ...]
    baseline: float | int
    integer: bool


@dataclass(frozen=True)
class Point:
    values: tuple[float | int, ...]
    scenario: Scenario
    key: str


@dataclass(frozen=True)
class Plan:
    """A validated sweep: the base scenario, its axes and every point (first axis outermost)."""

    base: Scenario
    axes: tuple[Axis, ...]
    points: tuple[Point, ...]

    @property
    def outcomes(self) -> list[str]:
        return [*self.base.classes, NO_DEAL, AGREEMENT]


# ---------------------------------------------------------------- addressing fields


def scenario_raw(sc: Scenario) -> dict[str, Any]:
    """The scenario's content as a plain dict, defaults included: what dotted paths address."""
    return sc.model_dump(exclude=DUMP_EXCLUDE)


def lookup(raw: dict[str, Any], path: str) -> Any:
    """The value at ``path``; a one-line error naming what exists where the path goes wrong."""
    node: Any = raw
    done: list[str] = []
    for key in path.split("."):
        if not isinstance(node, dict):
            where = ".".join(done)
            raise UserError(f"no field '{show(path)}': {show(where)} is {_describe(node)}, it has no fields")
        if key not in node:
            where = ".".join(done) or "the top level"
            fields = show(", ".join(map(str, node)), 200)
            raise UserError(f"no field '{show(path)}' in the scenario; {show(where)} has: {fields}")
        node = node[key]
        done.append(key)
    return node


def _describe(value: Any) -> str:
    if value is None:
        return "not set in this scenario"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def numeric_kind(raw: dict[str, Any], path: str) -> type:
    """``int`` or ``float``: the type of the numeric field at ``path`` (pydantic stores floats as float)."""
    value = lookup(raw, path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = "a table" if isinstance(value, dict) else _describe(value)
        raise UserError(f"'{show(path)}' is {shown}, not a number; only numeric fields can be swept")
    return int if isinstance(value, int) else float


def numeric_paths(raw: dict[str, Any], prefix: str = "") -> list[str]:
    """Every numeric leaf of a scenario dict, as dotted paths (what a sweep can vary)."""
    out: list[str] = []
    for key, value in raw.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.extend(numeric_paths(value, path))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out.append(path)
    return out


# ---------------------------------------------------------------- grids


def parse_vary(spec: str) -> tuple[str, float, float, int]:
    """``PATH=LO:HI:N`` -> (path, lo, hi, n); N is checked against the sweep's point limit."""
    path, eq, grid = spec.partition("=")
    parts = grid.split(":")
    shown = show(spec)
    if not eq or not path.strip() or len(parts) != 3:
        raise UserError(f"--vary '{shown}': expected PATH=LO:HI:N, e.g. dynamics.momentum.drift=0:0.1:5")
    try:
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise UserError(f"--vary '{shown}': LO and HI must be numbers and N a whole number") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise UserError(f"--vary '{shown}': LO and HI must be finite numbers")
    if n < 1:
        raise UserError(f"--vary '{shown}': N must be at least 1")
    budget.check_points(n)
    return path.strip(), lo, hi, n


def grid(lo: float, hi: float, n: int) -> list[float]:
    """N evenly spaced values from LO to HI, rounded so 0.1 steps print as 0.1."""
    return [round(float(v), 12) for v in np.linspace(lo, hi, n)]


def vary_from_specs(specs: Sequence[str]) -> dict[str, list[float]]:
    """Command-line ``--vary`` specs -> {path: grid values}; the grid's size is checked first."""
    parsed = [parse_vary(spec) for spec in specs]
    budget.check_points(math.prod(n for *_, n in parsed))
    vary: dict[str, list[float]] = {}
    for path, lo, hi, n in parsed:
        if path in vary:
            raise UserError(f"--vary {show(path)} is given twice")
        vary[path] = grid(lo, hi, n)
    return vary


def make_axis(raw: dict[str, Any], path: str, values: Sequence[float]) -> Axis:
    """Check the path and the values against the field's type."""
    kind = numeric_kind(raw, path)
    try:
        vals = [float(v) for v in values]
    except (TypeError, ValueError):
        raise UserError(f"{path}: sweep values must be numbers") from None
    if not vals:
        raise UserError(f"{path}: no values to sweep")
    if any(not np.isfinite(v) for v in vals):
        raise UserError(f"{path}: sweep values must be finite")
    if kind is int:
        bad = [v for v in vals if abs(v - round(v)) > 1e-9]
        if bad:
            raise UserError(
                f"{path} holds whole numbers, but the grid has {bad[0]:g}; "
                "choose LO, HI and N so that every step is whole"
            )
        vals = [round(v) for v in vals]
    if len(set(vals)) != len(vals):
        repeated = show(", ".join(f"{v:g}" for v in vals), 200)
        raise UserError(f"{path}: the grid repeats values ({repeated})")
    return Axis(path, tuple(vals), lookup(raw, path), kind is int)


# ---------------------------------------------------------------- points


def point_key(sc: Scenario) -> str:
    """Names a point's cached result: its resolved content, seed, replications and engine version."""
    blob = json.dumps([sc.sha256, sc.seed, sc.replications, CHUNK, __version__])
    return hashlib.sha256(blob.encode()).hexdigest()


def rebalance(raw: dict[str, Any], varied: Sequence[str]) -> None:
    """Rescale the unvaried weights of every weight group a varied path touches, so each sums to 1."""
    groups: dict[tuple[str, str | None], set[str]] = {}
    for path in varied:
        for pattern in WEIGHT_GROUPS:
            m = pattern.match(path)
            if m:
                groups.setdefault((m["group"], m.groupdict().get("field")), set()).add(m["member"])
    for (group, field), fixed in groups.items():
        _rescale(lookup(raw, group), field, fixed, group)


def _rescale(node: dict[str, Any], field: str | None, fixed: set[str], group: str) -> None:
    def get(m: str) -> float:
        return node[m][field] if field else node[m]

    def put(m: str, v: float) -> None:
        if field:
            node[m][field] = v
        else:
            node[m] = v

    others = [m for m in node if m not in fixed]
    target = 1.0 - sum(get(m) for m in fixed)
    rest = sum(get(m) for m in others)
    if target < -1e-9:
        raise UserError(f"{group}: the varied weights sum to more than 1")
    if abs(rest - target) < 1e-12:
        return  # already sums to 1: leave the other weights bit for bit as written
    if rest <= 0:
        raise UserError(f"{group}: the other weights are all 0, so they cannot make up the sum of 1")
    for m in others:
        put(m, get(m) * target / rest)


def build_point(base: Scenario, raw: dict[str, Any], axes: Sequence[Axis], values: Sequence) -> Point:
    """The base scenario with each axis set to its value, validated; one-line error if invalid."""
    raw = copy.deepcopy(raw)
    for axis, value in zip(axes, values, strict=True):
        set_path(raw, axis.path, value, inplace=True)
    label = ", ".join(f"{a.path}={v:g}" for a, v in zip(axes, values, strict=True))
    try:
        rebalance(raw, [a.path for a in axes])
        sc = validate(raw, base.path, name=base.name, parent=base.parent)
        check_negotiable(sc)
    except ScenarioError as e:
        name = Path(base.path).name
        raise UserError(f"{name} with {label} is not a valid scenario: {e.where}: {e.message}") from None
    except UserError as e:
        raise UserError(f"{Path(base.path).name} with {label}: {e}") from None
    return Point(tuple(values), sc, point_key(sc))


def plan_sweep(base: Scenario, vary: Mapping[str, Sequence[float]]) -> Plan:
    """Every point of the grid, built and validated (nothing runs yet)."""
    if not vary:
        raise UserError("nothing to sweep: give at least one parameter to vary")
    raw = scenario_raw(base)
    axes = tuple(make_axis(raw, path, values) for path, values in vary.items())
    combos = itertools.product(*[a.values for a in axes])  # first axis outermost
    points = tuple(build_point(base, raw, axes, combo) for combo in combos)
    return Plan(base, axes, points)


# ---------------------------------------------------------------- running


def chunk_counts(sc: Scenario, seed: int, start: int, stop: int) -> np.ndarray:
    """Play one chunk; count worlds per outcome (classes, no agreement, any agreement)."""
    from sim.experiments.tally import Tally

    return Tally(compiled_space(sc)).add_chunk(run_chunk(sc, seed, start, stop)).class_counts()


def _run_points(
    points: Sequence[Point],
    executor: Executor | None,
    done: Callable[[Point, np.ndarray], None],
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Run every point's chunks; call ``done(point, counts)`` as each point completes."""
    if executor is None:
        for p in points:
            sc = p.scenario
            done(p, sum(chunk_counts(sc, sc.seed, a, b) for a, b in chunk_bounds(sc.replications)))
        return
    futures = {}
    for i, p in enumerate(points):
        for a, b in chunk_bounds(p.scenario.replications):
            futures[executor.submit(chunk_counts, p.scenario, p.scenario.seed, a, b)] = i
    if meanwhile is not None:
        meanwhile()
    left = [len(chunk_bounds(p.scenario.replications)) for p in points]
    totals: list[Any] = [0] * len(points)
    try:
        for f in as_completed(futures):
            i = futures[f]
            totals[i] = totals[i] + f.result()
            left[i] -= 1
            if left[i] == 0:
                done(points[i], totals[i])
    except BaseException:
        for f in futures:
            f.cancel()  # do not leave the pool busy with a sweep that has failed or was interrupted
        raise


STALE_SECONDS = 60


class PointCache:
    """Finished points as ``<key>.json``, each written atomically when its point completes."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None and self.folder.is_dir():
            # A run killed mid-write leaves its temporary file (never a half point): tidy up those
            # old enough not to belong to a sweep writing here right now.
            for part in self.folder.glob(".*.part"):
                if time.time() - part.stat().st_mtime > STALE_SECONDS:
                    part.unlink(missing_ok=True)

    def get(self, point: Point, outcomes: list[str]) -> np.ndarray | None:
        if self.folder is None:
            return None
        try:
            data = json.loads((self.folder / f"{point.key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("key") != point.key or data.get("outcomes") != outcomes:
            return None
        counts = np.array(data.get("counts", []), dtype=np.int64)
        return counts if counts.shape == (len(outcomes),) else None

    def put(self, point: Point, outcomes: list[str], axes: Sequence[Axis], counts: np.ndarray) -> None:
        if self.folder is None:
            return
        from sim.atomic import write_json

        sc = point.scenario
        write_json(
            self.folder / f"{point.key}.json",
            {
                "key": point.key,
                "values": {a.path: v for a, v in zip(axes, point.values, strict=True)},
                "scenario_sha256": sc.sha256,
                "seed": sc.seed,
                "replications": sc.replications,
                "outcomes": outcomes,
                "counts": [int(c) for c in counts],
            },
        )


def clear_cache(folder: Path) -> None:
    """``--fresh``: forget every finished point."""
    if Path(folder).is_dir():
        shutil.rmtree(folder)


def cached_count(plan: Plan, cache_dir: Path | None) -> int:
    cache = PointCache(cache_dir)
    return sum(cache.get(p, plan.outcomes) is not None for p in plan.points)


def run_plan(
    plan: Plan,
    executor: Executor | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    meanwhile: Callable[[], None] | None = None,
) -> pd.DataFrame:
    """Run the points not yet cached in ``cache_dir``; return the sweep frame (see :func:`frame`).

    ``meanwhile`` runs in this process once every chunk is handed to the executor.
    """
    from tqdm import tqdm

    cache = PointCache(cache_dir)
    outcomes = plan.outcomes
    counts = {p.key: cache.get(p, outcomes) for p in plan.points}
    todo = [p for p in plan.points if counts[p.key] is None]
    todo = list({p.key: p for p in todo}.values())  # identical points run once
    bar = tqdm(
        total=len(plan.points),
        initial=len(plan.points) - len(todo),
        desc=f"{plan.base.name} sweep",
        unit="pt",
        disable=None if progress else True,
        leave=False,
    )

    def done(point: Point, c: np.ndarray) -> None:
        cache.put(point, outcomes, plan.axes, c)
        counts[point.key] = c
        bar.update(1)

    with bar:
        _run_points(todo, executor, done, meanwhile)
    return frame(plan, [counts[p.key] for p in plan.points])


def frame(plan: Plan, counts: Sequence[np.ndarray]) -> pd.DataFrame:
    """One row per point and outcome: the varied values, outcome, count, n, share, 95% interval."""
    from sim.experiments.tally import wilson

    outcomes = plan.outcomes
    k = np.concatenate(counts).astype(np.int64)
    n = np.repeat([p.scenario.replications for p in plan.points], len(outcomes))
    lo, hi = wilson(k, n)
    cols: dict[str, Any] = {}
    for j, axis in enumerate(plan.axes):
        vals = np.repeat([p.values[j] for p in plan.points], len(outcomes))
        cols[axis.path] = vals.astype(np.int64 if axis.integer else np.float64)
    cols |= {"outcome": outcomes * len(plan.points), "count": k, "n": n, "share": k / n, "lo": lo, "hi": hi}
    return pd.DataFrame(cols)


def grid_meta(plan: Plan) -> dict[str, Any]:
    """What was varied, for the manifest and the report."""
    return {
        "axes": [a.path for a in plan.axes],
        "grid": {
            a.path: {"values": list(a.values), "baseline": a.baseline, "integer": a.integer}
            for a in plan.axes
        },
        "points": len(plan.points),
    }
