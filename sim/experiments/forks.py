"""Worlds copied at a date and continued: the propagation step of a particle filter over worlds.

A particle filter (Gordon, Salmond & Smith 1993, "Novel approach to nonlinear/non-Gaussian Bayesian
state estimation", IEE Proceedings F 140(2)) resamples its particles and moves each copy on through
the model's own random dynamics, so copies of one particle share its past and differ in their
futures. Here a particle is a simulated world, and a copy is made by replaying: a world's numbers
depend only on the run's seed, its chunk and its place in the chunk (``sim.experiments.chunks``), so
a copy replays its parent's draws for everything up to the end of the fork day and draws its own
after it, from streams that add a fork key to the purpose of each draw.

A :class:`Lineage` is the run's seed and its generations: generation g copies world ``parents[i]`` of
generation g-1 into place i at the end of ``day`` (days from ``calendar.start``). Generation 0 is the
run itself. Every generation has the run's number of worlds and is cut into the run's chunks, so a
world of any generation is the same world whichever workers play it.

The copy rule reads the engine's contract for draws (``sim.engine.model``): every stream is keyed by
its purpose (and, during the talks, by the day and the world's segment of it, or by the world's
contact count), is filled for all the chunk's worlds and indexed by world, and every draw from it
names its size last, worlds first (``rng.random(n)``, ``rng.normal(mu, sd, (n, k))``,
``rng.gamma(a, size=(n, k))``). The day a draw belongs to is the day being played when it is made
(0 while the worlds are drawn): a draw made on or before the fork day is the parent's, one after it
the copy's own, whatever its key. So a contact held on or before the fork day keeps the parent's
interval to the next contact (part of the world's state at the fork), and one held after draws anew.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from sim.engine.model import NegotiationModel
from sim.experiments.chunks import CHUNK, chunk_bounds, chunk_seed, compiled_space
from sim.scenario import Scenario
from sim.scenario.posterior import particles_of
from sim.threads import pin_threads


@dataclass(frozen=True)
class Fork:
    """World i of this generation is a copy of world ``parents[i]`` of the one before, from ``day`` on."""

    day: int
    parents: np.ndarray


@dataclass(frozen=True)
class Lineage:
    """A run's seed and size, and the forks that made its current generation."""

    seed: int
    worlds: int
    forks: tuple[Fork, ...] = field(default=())

    def then(self, day: int, parents: np.ndarray) -> Lineage:
        """This lineage with one more generation, forked on ``day``."""
        if self.forks and day < self.forks[-1].day:
            raise ValueError("forks must come in date order")
        parents = np.asarray(parents, dtype=np.int64)
        if parents.shape != (self.worlds,) or parents.min() < 0 or parents.max() >= self.worlds:
            raise ValueError(f"a generation has {self.worlds} worlds, each copying one of the last")
        return Lineage(self.seed, self.worlds, (*self.forks, Fork(int(day), parents)))

    def segment(self, day: int) -> int:
        """Which generation's streams draw the numbers of ``day``: the last forked before it."""
        return sum(f.day < day for f in self.forks)

    def ancestors(self, level: int) -> np.ndarray:
        """For every world of the current generation, its ancestor in generation ``level``."""
        idx = np.arange(self.worlds)
        for f in reversed(self.forks[level:]):
            idx = f.parents[idx]
        return idx


def level_stream(seed: int, level: int, chunk: int, purpose: tuple[Any, ...]) -> np.random.Generator:
    """Generation ``level``'s stream of one purpose in one chunk: the run's own stream for level 0, a
    fresh one with the fork's key after that (derived exactly as the engine derives its streams)."""
    shim = SimpleNamespace(rng=np.random.default_rng(chunk_seed(seed, chunk)))
    key = (*purpose, "fork", level) if level else purpose
    return NegotiationModel.stream(shim, *key)  # type: ignore[arg-type]


def _resized(args: tuple, kwargs: dict, n: int) -> tuple[tuple, dict]:
    """The draw's arguments with its size (last, worlds first) set to ``n`` worlds."""

    def fit(size: Any) -> Any:
        return n if isinstance(size, int | np.integer) else (n, *tuple(size)[1:])

    if "size" in kwargs:
        return args, {**kwargs, "size": fit(kwargs["size"])}
    return (*args[:-1], fit(args[-1])), kwargs


class Gathered:
    """A stream whose draws for this chunk's worlds are their ancestors' draws in generation ``level``."""

    def __init__(self, seed: int, level: int, worlds: int, purpose: tuple, ancestors: np.ndarray) -> None:
        self.seed, self.level, self.worlds, self.purpose = seed, level, worlds, purpose
        self.chunk, self.place = np.divmod(ancestors, CHUNK)
        self._streams: dict[int, np.random.Generator] = {}

    def _stream(self, c: int) -> np.random.Generator:
        if c not in self._streams:
            self._streams[c] = level_stream(self.seed, self.level, c, self.purpose)
        return self._streams[c]

    def __getattr__(self, name: str):
        def draw(*args: Any, **kwargs: Any) -> np.ndarray:
            out = None
            for c in np.unique(self.chunk):
                size = min(CHUNK, self.worlds - int(c) * CHUNK)  # the whole chunk, as its run drew it
                a, k = _resized(args, kwargs, size)
                values = np.asarray(getattr(self._stream(int(c)), name)(*a, **k))
                rows = self.chunk == c
                if out is None:
                    out = np.empty((self.chunk.size, *values.shape[1:]), dtype=values.dtype)
                out[rows] = values[self.place[rows]]
            return out

        return draw


class ForkedModel(NegotiationModel):
    """The worlds [start, stop) of a lineage's current generation, recording what is in force after
    day (``path``, worlds x days). With no forks it is the run's own chunk, number for number."""

    def __init__(
        self,
        scenario: Scenario,
        lineage: Lineage,
        start: int,
        stop: int,
        trace: int | None = None,
        rows: np.ndarray | None = None,
    ):
        """``rows``: play only these worlds of the current generation (default: all of [start, stop));
        each is the same world whichever others are played with it."""
        self.lineage = lineage
        idx = np.arange(start, stop) if rows is None else np.asarray(rows, dtype=np.int64)
        self._ancestors = [lineage.ancestors(k)[idx] for k in range(len(lineage.forks) + 1)]
        self.path: list[np.ndarray] = []
        self._level = 0
        super().__init__(
            scenario,
            replications=idx.size,
            rng=np.random.default_rng(chunk_seed(lineage.seed, start // CHUNK)),
            space=compiled_space(scenario),
            trace=trace,
        )

    def drawing_day(self) -> int:
        """The day the draws being made now belong to: 0 while the worlds are drawn, then the day being
        played (Mesa's clock has moved to it when ``step`` runs)."""
        return round(self.time)

    def stream(self, *purpose: Any) -> np.random.Generator:
        level = self.lineage.segment(self.drawing_day())
        gathered = Gathered(self.lineage.seed, level, self.lineage.worlds, purpose, self._ancestors[level])
        return gathered  # type: ignore[return-value]

    def step(self) -> None:
        level = self.lineage.segment(self.drawing_day())
        if level != self._level:
            # The intervals between contacts are cached per contact count for all worlds; those not
            # yet drawn by a world are drawn from this generation's streams from here on.
            self._intervals.clear()
            self.drawn.forget()  # likewise every kept draw (the ratifications' are per contact count)
            self._level = level
        super().step()
        self.path.append(self.inforce.copy())


def run_forked_chunk(scenario: Scenario, lineage: Lineage, start: int, stop: int) -> tuple[np.ndarray, float]:
    """(worlds x days) package in force at each day's end in worlds [start, stop), and the seconds."""
    if particles_of(scenario) is not None:
        raise ValueError("a calibrated scenario's worlds run through sim.experiments.mixture")
    pin_threads()
    t0 = time.perf_counter()
    model = ForkedModel(scenario, lineage, start, stop).run()
    path = np.stack(model.path, axis=1) if model.path else np.zeros((stop - start, 0), dtype=np.int64)
    del model
    gc.collect(1)
    return path, time.perf_counter() - t0


def run_generation(
    scenario: Scenario, lineage: Lineage, executor: Executor | None = None, runner: Callable | None = None
) -> np.ndarray:
    """The package in force at the end of each day in every world of the lineage's current generation
    (``runner`` plays one chunk: default :func:`run_forked_chunk`)."""
    runner = run_forked_chunk if runner is None else runner
    bounds = chunk_bounds(lineage.worlds)
    if executor is None:
        parts = [runner(scenario, lineage, a, b)[0] for a, b in bounds]
    else:
        futures = [executor.submit(runner, scenario, lineage, a, b) for a, b in bounds]
        parts = [f.result()[0] for f in futures]
    return np.concatenate(parts, axis=0)


def world_draws(scenario: Scenario, seed: int, worlds: int) -> dict[str, np.ndarray]:
    """Each world's own draws of the uncertain quantities (made before the talks, so shared by every
    copy of the world): each party's opening margin, concession speed (beta), tolerance of the war's
    hurt and daily value of each front; each veto player's threshold."""
    if particles_of(scenario) is not None:
        raise ValueError("a calibrated scenario's draws come from sim.experiments.mixture")
    out: dict[str, list[np.ndarray]] = {}
    for a, b in chunk_bounds(worlds):
        model = ForkedModel(scenario, Lineage(seed, worlds), a, b)
        out = drawn(model, out)
    return {k: np.concatenate(v) for k, v in out.items()}


def drawn(model: ForkedModel, out: dict[str, list[np.ndarray]]) -> dict[str, list[np.ndarray]]:
    """``out`` with the model's worlds' own draws appended, quantity by quantity."""
    for p in model.parties:
        out.setdefault(f"{p.pid}.margin", []).append(p.margin0)
        out.setdefault(f"{p.pid}.concession", []).append(1.0 / p.inverse_beta)
        out.setdefault(f"{p.pid}.tolerance", []).append(p.tolerance)
        for f, front in enumerate(model.space.fronts):
            if front in p.spec.war:
                out.setdefault(f"{p.pid}.war.{front}", []).append(p.values.war[:, f])
    for v in model.vetoes:
        out.setdefault(f"{v.party.pid}.veto.threshold", []).append(v.threshold)
    return out
