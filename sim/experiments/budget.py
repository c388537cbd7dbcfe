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

The estimates are upper bounds measured on the engine (a world-round costs about 2 µs plus 0.1 µs
per package of the outcome space; a chunk of worlds holds about 160 bytes per world and package:
each party's, veto player's and the mediator's value tables), so they refuse the absurd, not the
merely large.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.errors import UserError, show
from sim.experiments.chunks import CHUNK
from sim.scenario import Scenario
from sim.scenario.limits import MEMORY_MB, POINTS, REPLICATIONS, SECONDS, Limit

SECONDS_PER_WORLD_ROUND = 2e-6
SECONDS_PER_WORLD_ROUND_PACKAGE = 1e-7
BYTES_PER_WORLD_PACKAGE = 160
BASE_MB = 200  # the libraries a process loads


def _refuse(limit: Limit, asked: str, estimate: str) -> UserError:
    return UserError(f"too large a job: {asked} ({estimate}); {limit.allowed()}")


def seconds(sc: Scenario, replications: int | None = None) -> float:
    """Estimated seconds on one core to play a scenario's worlds to the horizon (an upper bound)."""
    n = sc.replications if replications is None else replications
    per = SECONDS_PER_WORLD_ROUND + SECONDS_PER_WORLD_ROUND_PACKAGE * sc.n_packages
    # the cost grows with the contacts a world holds (each a text, answers, learning), a daily
    # world step costing about as much as a contact without the packages
    return n * (sc.expected_contacts * per + sc.days * SECONDS_PER_WORLD_ROUND)


def memory_mb(sc: Scenario, workers: int = 1) -> float:
    """Estimated peak memory: each process holds one chunk of worlds over the outcome space."""
    per_process = BASE_MB + min(sc.replications, CHUNK) * sc.n_packages * BYTES_PER_WORLD_PACKAGE / 2**20
    return per_process * max(1, workers)


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
