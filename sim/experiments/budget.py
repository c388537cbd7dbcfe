"""The size of a job, estimated and checked before any work starts.

A job is refused, with the estimate in the message, when it asks for more than a limit. Each limit
has a default and an environment variable that raises (or lowers) it:

==========================  ==============================  ==========
limit                       environment variable            default
==========================  ==============================  ==========
replications per scenario   ``NEGSIM_MAX_REPLICATIONS``     10,000,000
points in a sweep           ``NEGSIM_MAX_POINTS``           10,000
estimated time (one core)   ``NEGSIM_MAX_SECONDS``          3,600
estimated memory            ``NEGSIM_MAX_MEMORY_MB``        4,096
==========================  ==============================  ==========

The estimates are upper bounds measured on the engine, so they refuse the absurd, not the merely
large. Time: a world-round costs about 2 µs plus 0.1 µs per package of the outcome space. Memory
follows what the engine holds for a chunk of R worlds (R = the chunk size, or fewer replications):

* the valuers' parameters: for every party its own weighted option values and daily war values,
  the mediator's estimate of them, each veto player's own, and the beliefs held by each of the c
  parties that may table counters: its estimates of the others and a copy of its own values, so
  that a believer's tables sit side by side (float64, (R, J + F) each, J term options and F
  fronts): 8 R (J + F) (2 n + v + c n) bytes for n parties and v veto players (no table over the
  P packages is held: a package's terms are summed when read);
* per world, the class in force at the end of each of the T days, the answers at each contact, each
  party's state (hurt, margins, beliefs) and a demand's values over the M moves;
* where a scenario has carrots, the mediator proposes on its readable path (the kernel knows no
  offered carrots), which evaluates every valuer on a block of up to a chunk of worlds over the
  union of their candidates: up to (r, n, P) float64 arrays at once;
* per package, the outcome space's tables (the neighbours of each package by each of its M moves).

``analyze`` checks its own size as well: its Pareto test compares every package with every other
for each party (n P^2 booleans, a few at once), beside the replayed chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.errors import UserError, show
from sim.experiments.chunks import CHUNK, chunk_bounds
from sim.scenario import Scenario
from sim.scenario.limits import MEMORY_MB, POINTS, REPLICATIONS, SECONDS, Limit
from sim.scenario.posterior import particles_of

SECONDS_PER_WORLD_ROUND = 2e-6
SECONDS_PER_WORLD_ROUND_PACKAGE = 1e-7
GROUP_FLOOR = 256  # a group of a calibrated chunk costs at least as much as this many worlds
BYTES_PER_VALUER_NUMBER = 8  # a world's weighted value of one term option, or daily value of a front
BYTES_PER_WORLD_DAY = 2  # the class in force at the end of each day (int16), per world
BYTES_PER_WORLD_CONTACT = 32  # a contact's answers and events, per world
BYTES_PER_WORLD_PARTY = 256  # a party's per-world state: hurt, margin, shift, beliefs' offsets
BYTES_PER_WORLD_MOVE = 8  # a demand: the value of each neighbour, per party
BYTES_PER_CARROT_CELL = 24  # the readable proposal: estimate, surplus and shortfall of a package
BYTES_PER_PACKAGE_MOVE = 8  # the outcome space's neighbour table
BASE_MB = 250  # the libraries a process loads (NumPy, pandas, Mesa, numba)
SLACK = 1.25  # temporaries of a round beside the tables
PARETO_ARRAYS = 3  # boolean (n, P, P) arrays alive at once in the dominance test


def _refuse(limit: Limit, asked: str, estimate: str) -> UserError:
    return UserError(f"too large a job: {asked} ({estimate}); {limit.allowed()}")


def seconds(sc: Scenario, replications: int | None = None) -> float:
    """Estimated seconds on one core to play a scenario's worlds to the horizon (an upper bound).

    A calibrated scenario's chunk is played as one group of worlds per particle drawn in it
    (``sim.experiments.mixture``), each group costing at least what ``GROUP_FLOOR`` worlds cost:
    a day's contacts are no longer shared across the chunk (measured on the baseline: a model of 40
    worlds took 0.52 CPU-s, of 400 worlds 1.06 s, of 4,096 worlds 3.6 s)."""
    n = sc.replications if replications is None else replications
    parts = particles_of(sc)
    if parts is None:
        return _seconds(sc, n)
    total = 0.0
    for a, b in chunk_bounds(n):
        groups = min(len(parts.weights), b - a)
        total += groups * _seconds(sc, max((b - a) / groups, GROUP_FLOOR))
    return total


def _seconds(sc: Scenario, n: float) -> float:
    per = SECONDS_PER_WORLD_ROUND + SECONDS_PER_WORLD_ROUND_PACKAGE * sc.n_packages
    # the cost grows with the contacts a world holds (each a text, answers, learning), a daily
    # world step costing about as much as a contact without the packages
    return n * (sc.expected_contacts * per + sc.days * SECONDS_PER_WORLD_ROUND)


def valuers(sc: Scenario) -> int:
    """Valuers a model holds per world: each party's own values and the mediator's estimate of
    them, each veto player's own, and each countering party's beliefs (its estimates of the others
    and a copy of its own values, held side by side with them)."""
    n = len(sc.parties)
    vetoes = sum(1 for p in sc.parties.values() if p.veto is not None)
    believers = sum(1 for p in sc.parties.values() if p.tables_counters)
    return 2 * n + vetoes + believers * n


def chunk_mb(sc: Scenario, worlds: int | None = None) -> float:
    """Estimated peak memory of playing one chunk of ``worlds`` worlds (default: a full chunk, or
    the scenario's replications if fewer), above the libraries."""
    r = min(sc.replications, CHUNK) if worlds is None else worlds
    p, moves, n = sc.n_packages, sum(len(i.options) for i in sc.issues.values()), len(sc.parties)
    terms = sum(len(sc.issues[i].options) for i in sc.issues if i != sc.truce.issue)
    fronts = len({f for party in sc.parties.values() for f in party.war})
    per_world = BYTES_PER_VALUER_NUMBER * (terms + fronts) * valuers(sc) + BYTES_PER_WORLD_DAY * sc.days
    per_world += BYTES_PER_WORLD_CONTACT * sc.expected_contacts + BYTES_PER_WORLD_PARTY * n
    per_world += BYTES_PER_WORLD_MOVE * moves * n
    if any(lv.kind == "carrot" for lv in sc.levers.values()):
        per_world += BYTES_PER_CARROT_CELL * n * p
    return SLACK * (r * per_world + p * moves * BYTES_PER_PACKAGE_MOVE) / 2**20


def memory_mb(sc: Scenario, workers: int = 1) -> float:
    """Estimated peak memory: each process holds one chunk of worlds over the outcome space."""
    return (BASE_MB + chunk_mb(sc)) * max(1, workers)


def analysis_mb(sc: Scenario, simulate: bool = True, workers: int = 1) -> float:
    """Estimated peak memory of ``analyze``: the dominance test of the Pareto frontier (one day at a
    time, in this process), beside the replayed chunks when it simulates."""
    pareto = PARETO_ARRAYS * len(sc.parties) * sc.n_packages**2 / 2**20
    here = BASE_MB + pareto
    return max(here, memory_mb(sc, workers)) if simulate else here


def estimate(scenarios: Sequence[Scenario], points: int = 1, workers: int = 1) -> str:
    secs = points * sum(seconds(sc) for sc in scenarios)
    mem = max((memory_mb(sc, workers) for sc in scenarios), default=0.0)
    return f"estimated {_duration(secs)} on one core and {mem:,.0f} MB"


def _duration(secs: float) -> str:
    if secs < 120:
        return f"{secs:.0f} s"
    if secs < 2 * 3600:
        return f"{secs / 60:.0f} min"
    if secs < 2 * 86400:
        return f"{secs / 3600:.0f} h"
    if secs < 1e6 * 86400:
        return f"{secs / 86400:,.0f} days"
    return f"{secs / 86400:.1e} days"


def check_replications(sc: Scenario) -> None:
    if sc.replications > REPLICATIONS.value():
        raise _refuse(REPLICATIONS, f"{sc.replications:,} replications of {show(sc.name)}", estimate([sc]))


def check_points(n: int) -> None:
    """A sweep of ``n`` points, checked before its grid is built."""
    if n > POINTS.value():
        raise _refuse(POINTS, f"a sweep of {n:,} points", f"{n:,} runs of the scenario")


def check_analysis(sc: Scenario, simulate: bool = True, workers: int = 1) -> None:
    """Refuse an analysis over a limit before any work; the message gives the estimate."""
    if simulate:
        check_job([sc], workers=workers)
    mem = analysis_mb(sc, simulate, workers)
    if mem > MEMORY_MB.value():
        what = f"an analysis of {show(sc.name)} ({sc.n_packages:,} packages, {len(sc.parties)} parties)"
        raise _refuse(MEMORY_MB, what, f"estimated {mem:,.0f} MB")


def check_job(scenarios: Sequence[Scenario], points: int = 1, workers: int = 1) -> None:
    """Refuse a job over any limit, before any work starts; the message gives the estimate."""
    for sc in scenarios:
        check_replications(sc)
    check_points(points)
    secs = points * sum(seconds(sc) for sc in scenarios)
    if secs > SECONDS.value():
        what = f"{len(scenarios)} scenarios" if len(scenarios) > 1 else show(scenarios[0].name)
        if points > 1:
            what += f" at {points:,} points"
        raise _refuse(SECONDS, what, estimate(scenarios, points, workers))
    mem = max((memory_mb(sc, workers) for sc in scenarios), default=0.0)
    if mem > MEMORY_MB.value():
        raise _refuse(MEMORY_MB, f"{workers} worker(s)", estimate(scenarios, points, workers))
