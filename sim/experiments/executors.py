"""Where chunks run: this process, a local process pool, or a Dask cluster, behind one interface.

Every option is a ``concurrent.futures.Executor``; results do not depend on which one ran the work,
because each chunk carries its own seed (see sim.experiments.chunks).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from sim.errors import UserError
from sim.threads import pin_threads


def _context() -> multiprocessing.context.BaseContext:
    """Workers forked from a clean server process that has loaded the engine once.

    Forking this process directly could copy a lock held by one of its threads (a progress bar's,
    a cluster client's); starting each worker afresh would load Mesa in each.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.experiments.chunks", "sim.engine.model", "sim.experiments.tally"])
    return ctx


def default_workers() -> int:
    return os.cpu_count() or 1


@contextmanager
def executor_for(spec: str | None = None, workers: int | None = None) -> Iterator[Executor | None]:
    """An executor for ``--executor SPEC --workers N``; None means run in this process.

    SPEC is ``local`` (default: a process pool of N workers, in-process when N is 1),
    ``dask-local`` (start a Dask LocalCluster of N workers) or ``dask://HOST:PORT``.
    """
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise UserError("--workers must be at least 1")
    if spec in (None, "local"):
        if workers <= 1:
            yield None
            return
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=pin_threads) as pool:
            yield pool
        return
    if spec == "dask-local" or spec.startswith(("dask://", "tcp://")):
        from sim.experiments.dask_executor import dask_executor

        with dask_executor(spec, workers) as ex:
            yield ex
        return
    raise UserError(f"unknown executor '{spec}'; allowed: local, dask-local, dask://HOST:PORT")
