"""A calibrated forecast: every world draws the scenario's calibrated assumptions from the posterior.

ABC-SMC leaves a weighted sample of particles (values of the calibrated assumptions). The forecast
that carries both uncertainties is the posterior predictive distribution: the mixture over particles
of the worlds each particle's scenario generates (Gelman et al., *Bayesian Data Analysis*, 3rd ed.,
sec. 1.3 and 6.3). So world j draws particle k_j with probability w_k, from a stream of its own kept
apart from the engine's (filled for its chunk and indexed by world, as every draw of the engine), and
is played with particle k_j's values; every other number of world j is the one it draws in any run
of that seed. A world's particle therefore depends only on the seed and its index, not on the
workers or the chunks that played it, and a fork of a world keeps its particle (its ancestor's).

The engine reads a scenario-level value as one number for all the worlds it plays, so the worlds of a
chunk are played in groups, one group per particle drawn there, each group's worlds with the draws
they have in the whole chunk (``ForkedModel(rows=...)``). A group costs about as much as a small
chunk, hence a calibrated run costs about (particles drawn per chunk) x that: measured in
``benchmarks/``.

The runners here (:func:`launch`, :func:`run_generation`, :func:`world_draws`, :func:`trace_model`)
take a calibrated scenario or a plain one; those of ``chunks`` and ``forks`` refuse a calibrated one.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from types import SimpleNamespace

import numpy as np

from sim.experiments import chunks, forks
from sim.experiments.chunks import CHUNK, ChunkResult, _history
from sim.experiments.forks import ForkedModel, Gathered, Lineage, drawn
from sim.scenario import Scenario
from sim.scenario.posterior import Particles, particles_of, with_particles
from sim.threads import pin_threads

PURPOSE = ("posterior", "particle")  # the stream of a world's particle, apart from the engine's

_SCENARIOS: dict[tuple[str, str, int, int], Scenario] = {}
_SCENARIOS_KEPT = 4096


def particle_scenario(sc: Scenario, parts: Particles, k: int) -> Scenario:
    """The scenario with particle ``k``'s values (validated like a sweep point), cached per process."""
    from sim.experiments.sweeps import build_point, scenario_raw

    key = (parts.key, sc.sha256, sc.seed, k)
    if key not in _SCENARIOS:
        if len(_SCENARIOS) >= _SCENARIOS_KEPT:
            _SCENARIOS.clear()
        base = with_particles(sc, None)
        axes = [SimpleNamespace(path=p) for p in parts.paths]
        built = build_point(base, scenario_raw(base), axes, list(parts.values[k])).scenario
        _SCENARIOS[key] = built.model_copy(update={"replications": sc.replications, "seed": sc.seed})
    return _SCENARIOS[key]


def world_particles(parts: Particles, seed: int, worlds: np.ndarray, run_worlds: int) -> np.ndarray:
    """The particle of each of ``worlds`` (indices in a run of ``run_worlds``): one uniform per world,
    inverted through the weights' cumulative sum."""
    worlds = np.asarray(worlds, dtype=np.int64)
    u = Gathered(seed, 0, run_worlds, PURPOSE, worlds).random(worlds.size)
    cdf = np.cumsum(parts.weights)
    return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(parts.weights) - 1)


def groups(sc: Scenario, lineage: Lineage, rows: np.ndarray) -> list[tuple[Scenario, np.ndarray]]:
    """``rows`` of the lineage's current generation split by particle (that of their first ancestor):
    each particle's scenario and the positions in ``rows`` of its worlds, in particle order."""
    parts = particles_of(sc)
    assert parts is not None
    k = world_particles(parts, lineage.seed, lineage.ancestors(0)[rows], lineage.worlds)
    return [(particle_scenario(sc, parts, int(p)), np.flatnonzero(k == p)) for p in np.unique(k)]


def run_chunk(sc: Scenario, seed: int, start: int, stop: int) -> ChunkResult:
    """Worlds [start, stop) of a run, calibrated or not, as ``chunks.run_chunk`` gives them."""
    if particles_of(sc) is None:
        return chunks.run_chunk(sc, seed, start, stop)
    pin_threads()
    t0 = time.perf_counter()
    n = stop - start
    lineage = Lineage(seed, stop)
    rows = np.arange(start, stop)
    out: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    histories, series, names = [], np.zeros(0), ()
    for psc, pos in groups(sc, lineage, rows):
        model = ForkedModel(psc, lineage, start, stop, rows=rows[pos]).run()
        for name in ("inforce", "class_by_day", "first_day", "gain", "first_demand"):
            value = getattr(model, name)
            if name not in out:
                out[name] = np.empty((n, *value.shape[1:]), dtype=value.dtype)
            out[name][pos] = value
        for kind, c in model.counts.items():
            counts.setdefault(kind, np.empty(n, dtype=c.dtype))[pos] = c
        h = _history(model, 0)
        h["replication"] = rows[pos][h["replication"]]
        histories.append(h)
        frame = model.datacollector.get_model_vars_dataframe()
        part = frame.to_numpy(dtype=np.float64) * (pos.size / n)  # the chunk's mean, group by group
        series, names = (part if series.size == 0 else series + part), tuple(frame.columns)
        del model
        gc.collect(1)
    history = np.concatenate(histories)
    history = history[np.argsort(history["replication"], kind="stable")]
    return ChunkResult(
        start,
        out["inforce"],
        out["class_by_day"],
        out["first_day"],
        counts,
        out["gain"],
        out["first_demand"],
        history,
        series,
        names,
        time.perf_counter() - t0,
    )


def run_forked_chunk(sc: Scenario, lineage: Lineage, start: int, stop: int) -> tuple[np.ndarray, float]:
    """(worlds x days) package in force at each day's end in worlds [start, stop) of a lineage, and
    the seconds, as ``forks.run_forked_chunk`` gives them."""
    if particles_of(sc) is None:
        return forks.run_forked_chunk(sc, lineage, start, stop)
    pin_threads()
    t0 = time.perf_counter()
    rows = np.arange(start, stop)
    path = None
    for psc, pos in groups(sc, lineage, rows):
        model = ForkedModel(psc, lineage, start, stop, rows=rows[pos]).run()
        part = np.stack(model.path, axis=1) if model.path else np.zeros((pos.size, 0), dtype=np.int64)
        if path is None:
            path = np.empty((stop - start, part.shape[1]), dtype=part.dtype)
        path[pos] = part
        del model
        gc.collect(1)
    assert path is not None
    return path, time.perf_counter() - t0


def world_draws(sc: Scenario, seed: int, worlds: int) -> dict[str, np.ndarray]:
    """Each world's own draws (as ``forks.world_draws``) and, for a calibrated scenario, its values of
    the calibrated assumptions (``calibrated.PATH``)."""
    parts = particles_of(sc)
    if parts is None:
        return forks.world_draws(sc, seed, worlds)
    lineage = Lineage(seed, worlds)
    cols: dict[str, np.ndarray] = {}
    for a in range(0, worlds, CHUNK):
        b = min(a + CHUNK, worlds)
        rows = np.arange(a, b)
        for psc, pos in groups(sc, lineage, rows):
            got = drawn(ForkedModel(psc, lineage, a, b, rows=rows[pos]), {})
            for name, (v,) in got.items():
                cols.setdefault(name, np.empty(worlds, dtype=v.dtype))[rows[pos]] = v
    k = world_particles(parts, seed, np.arange(worlds), worlds)
    values = np.asarray(parts.values, dtype=np.float64)
    for i, path in enumerate(parts.paths):
        cols[f"calibrated.{path}"] = values[k, i]
    return cols


def trace_model(sc: Scenario, replication: int, seed: int | None = None):
    """World ``replication`` of a run, calibrated or not, run with its transcript recorded (as
    ``chunks.trace_model``). Calibrated, the worlds before it in its chunk are played beside it with
    its particle's values: each world is independent of the others, and only its row is read."""
    seed = sc.seed if seed is None else seed
    if particles_of(sc) is None:
        return chunks.trace_model(sc, replication, seed)
    if not 0 <= replication < sc.replications:
        raise ValueError(f"replication must be in 0..{sc.replications - 1}")
    lineage = Lineage(seed, sc.replications)
    ((psc, _),) = groups(sc, lineage, np.array([replication]))
    start = replication - replication % CHUNK
    return ForkedModel(psc, lineage, start, replication + 1, trace=replication - start).run()


def launch(
    sc: Scenario, seed: int, replications: int, executor: Executor | None = None
) -> Iterator[ChunkResult]:
    """``chunks.launch`` for a scenario calibrated or not."""
    return chunks.launch(sc, seed, replications, executor, runner=run_chunk)


def run_generation(sc: Scenario, lineage: Lineage, executor: Executor | None = None) -> np.ndarray:
    """``forks.run_generation`` for a scenario calibrated or not."""
    return forks.run_generation(sc, lineage, executor, runner=run_forked_chunk)
