"""Running a scenario as many replications: fixed chunks, independent seeds, any executor.

Replications are cut into chunks of ``CHUNK`` worlds; chunk c is seeded with the c-th child of
``numpy.random.SeedSequence(seed)``, and within a chunk each kind of draw has its own stream filled
world by world (see NegotiationModel.stream). A world's numbers therefore depend only on the seed
and its index: not on how many worlds are played, nor on how many workers ran the chunks or in which
order they finished.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import numpy as np

from sim.scenario import Scenario
from sim.scenario.posterior import particles_of
from sim.threads import pin_threads

CHUNK = 4096  # part of the reproducibility contract: changing it changes every number


@dataclass(frozen=True)
class ChunkResult:
    """Outcomes of one chunk of worlds, as compact arrays.

    inforce (R,): the package in force at the horizon; class_by_day (R, T): the class in force
    at the end of each day 1..T; first_day (R,): the time (days) of the first banked agreement (nan:
    none);
    counts: per kind of event (banked, extended, lapsed, violated, vetoed, gave_up) how often it
    happened in each world; gain (R, n): each party's value of the last banked package over no
    deal at signing; history: one row per event (world, day, kind, package); series (T, S): the
    DataCollector's per-day means over the chunk's worlds.
    """

    start: int
    inforce: np.ndarray
    class_by_day: np.ndarray
    first_day: np.ndarray
    counts: dict[str, np.ndarray]
    gain: np.ndarray
    first_demand: np.ndarray
    history: np.ndarray
    series: np.ndarray
    series_names: tuple[str, ...]
    seconds: float = 0.0  # time the chunk took where it ran

    @property
    def size(self) -> int:
        return self.inforce.size


HISTORY = np.dtype(
    [("replication", np.int64), ("day", np.float64), ("kind", "U8"), ("package", np.int64), ("by", np.int16)]
)


def _history(model, start: int) -> np.ndarray:
    parts = []
    for (rows, day, kind, pkg), by in zip(model.history, model.history_by, strict=True):
        part = np.empty(rows.size, dtype=HISTORY)
        part["replication"], part["day"], part["kind"], part["package"] = rows + start, day, kind, pkg
        part["by"] = by  # who tabled the text: -1 the mediator, else the party's index
        parts.append(part)
    out = np.concatenate(parts) if parts else np.empty(0, dtype=HISTORY)
    return out[np.argsort(out["replication"], kind="stable")]


def chunk_bounds(replications: int) -> list[tuple[int, int]]:
    return [(s, min(s + CHUNK, replications)) for s in range(0, replications, CHUNK)]


def chunk_seed(seed: int, chunk: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(chunk,))


def chunk_model(scenario: Scenario, seed: int, start: int, stop: int, trace: int | None = None):
    """The model of worlds [start, stop) of a run (``start`` a multiple of CHUNK), not yet run.

    It is seeded as its chunk, and each world's draws depend only on that seed and its place in the
    chunk, so a world is the same whichever slice of its chunk is played.
    """
    from sim.engine.model import NegotiationModel

    return NegotiationModel(
        scenario,
        replications=stop - start,
        rng=np.random.default_rng(chunk_seed(seed, start // CHUNK)),
        space=compiled_space(scenario),
        trace=trace,
    )


def run_chunk(scenario: Scenario, seed: int, start: int, stop: int) -> ChunkResult:
    """Play worlds [start, stop) of a run; ``start`` must be a multiple of CHUNK."""
    if particles_of(scenario) is not None:
        raise ValueError("a calibrated scenario's chunks run through sim.experiments.mixture")
    pin_threads()
    t0 = time.perf_counter()
    model = chunk_model(scenario, seed, start, stop).run()
    frame = model.datacollector.get_model_vars_dataframe()
    result = ChunkResult(
        start,
        model.inforce,
        model.class_by_day,
        model.first_day,
        model.counts,
        model.gain,
        model.first_demand,
        _history(model, start),
        frame.to_numpy(dtype=np.float64),
        tuple(frame.columns),
        time.perf_counter() - t0,
    )
    # A Mesa model is a reference cycle (agents <-> model); free its arrays now, not at the next
    # full collection, so memory stays flat however many chunks a run has.
    del model
    gc.collect(1)
    return result


_SPACES: dict[str, object] = {}
_SPACES_KEPT = 32  # a worker may alternate between the scenarios of a comparison


def compiled_space(scenario: Scenario):
    """The compiled outcome space (with the mediator's tables), cached per scenario content.

    The key is the content that shapes the model, so an edited copy never reuses a stale space;
    replications and seed do not enter it.
    """
    from sim.engine.outcomes import OutcomeSpace
    from sim.scenario import canonical_hash

    content = scenario.model_dump(mode="json", exclude={"name", "path", "sha256", "replications", "seed"})
    key = canonical_hash(content)
    if key in _SPACES:
        _SPACES[key] = _SPACES.pop(key)  # most recently used last
    else:
        while len(_SPACES) >= _SPACES_KEPT:
            _SPACES.pop(next(iter(_SPACES)))
        _SPACES[key] = OutcomeSpace(scenario)
    return _SPACES[key]


def trace_model(scenario: Scenario, replication: int, seed: int | None = None):
    """The worlds of ``replication``'s chunk up to it, run with its transcript recorded."""
    seed = scenario.seed if seed is None else seed
    if not 0 <= replication < scenario.replications:
        raise ValueError(f"replication must be in 0..{scenario.replications - 1}")
    if particles_of(scenario) is not None:
        raise ValueError("a calibrated scenario's worlds are traced through sim.experiments.mixture")
    start = replication - replication % CHUNK
    return chunk_model(scenario, seed, start, replication + 1, trace=replication - start).run()


def launch(
    scenario: Scenario,
    seed: int,
    replications: int,
    executor: Executor | None = None,
    runner: Callable[[Scenario, int, int, int], ChunkResult] | None = None,
) -> Iterator[ChunkResult]:
    """Start every chunk of a run now (on ``executor``); iterate their results in order.

    Without an executor the chunks are played in this process, one by one as they are read.
    ``runner`` plays one chunk (default :func:`run_chunk`).
    """
    runner = run_chunk if runner is None else runner
    bounds = chunk_bounds(replications)
    if executor is None:
        return (runner(scenario, seed, a, b) for a, b in bounds)
    futures = [executor.submit(runner, scenario, seed, a, b) for a, b in bounds]
    return _in_order(futures)


def _in_order(futures: list[Future]) -> Iterator[ChunkResult]:
    try:
        for f in futures:
            yield f.result()
    finally:
        for f in futures:
            f.cancel()  # a reader that stops early leaves no work queued


def run_chunks(
    scenario: Scenario,
    seed: int,
    replications: int,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[ChunkResult]:
    """All chunks of one run, in order, on ``executor`` (in this process when None)."""
    out = []
    for r in launch(scenario, seed, replications, executor):
        out.append(r)
        if progress:
            progress(r.size)
    return out
