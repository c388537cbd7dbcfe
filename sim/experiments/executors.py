"""Where chunks run: this process, a local process pool, or a Dask cluster, behind one interface.

Every option is a ``concurrent.futures.Executor``; results do not depend on which one ran the work,
because each chunk carries its own seed (see sim.experiments.chunks).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from sim.errors import UserError, show
from sim.threads import pin_threads


def _context() -> multiprocessing.context.BaseContext:
    """Workers forked from a clean server process that has loaded the engine once.

    Forking this process directly could copy a lock held by one of its threads (a progress bar's,
    a cluster client's); starting each worker afresh would load Mesa in each.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    preload = ["sim.experiments.chunks", "sim.engine.model", "sim.experiments.tally"]
    ctx.set_forkserver_preload(["sim.experiments.worker_start", *preload])
    return ctx


def default_workers() -> int:
    return os.cpu_count() or 1


MAX_WORKERS = 256  # more processes than this is a typo, not a plan


def _worker_start(parent: int) -> None:
    """Set up a worker: one BLAS thread, Ctrl-C left to the parent, and exit when the parent is gone.

    A terminal sends Ctrl-C to every process of the job; the parent decides what is kept and stops
    the workers itself. A parent killed outright (SIGKILL) cannot: each worker watches for it and
    exits when it disappears, so no worker outlives the command.
    """
    pin_threads()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent, os.getppid()), daemon=True).start()


def _watch_parent(parent: int, ppid: int, every: float = 0.5) -> None:
    while True:
        time.sleep(every)
        if os.getppid() != ppid or not alive(parent):
            os._exit(1)


def alive(pid: int) -> bool:
    """Whether a process with this id is running (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ready() -> None:
    """A task that does nothing: submitting it makes the pool start a worker."""


def _start_all(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start every worker now, with Ctrl-C held back until each is registered with the pool.

    A Ctrl-C that landed while a worker was being started would leave a process the pool does not
    know of, which cannot be stopped and prints a traceback; held back, it arrives a moment later
    and everything it must stop is known.
    """
    block = getattr(signal, "pthread_sigmask", None)
    if block is None:  # not on this platform: start them on demand
        return
    old = block(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for _ in range(workers):
            pool.submit(_ready)
    finally:
        block(signal.SIG_SETMASK, old)


def stop_now(pool: ProcessPoolExecutor) -> None:
    """Stop a process pool at once: drop queued work and end the workers (no waiting for chunks)."""
    # The workers go first: a worker still starting up would otherwise find the pool's queues
    # already gone and print a traceback on its way out.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(2)
            if p.is_alive():
                p.kill()
                p.join(1)
    pool.shutdown(wait=False, cancel_futures=True)


@contextmanager
def executor_for(spec: str | None = None, workers: int | None = None) -> Iterator[Executor | None]:
    """An executor for ``--executor SPEC --workers N``; None means run in this process.

    SPEC is ``local`` (default: a process pool of N workers, in-process when N is 1),
    ``dask-local`` (start a Dask LocalCluster of N workers) or ``dask://HOST:PORT``. A local pool
    is stopped at once if the block ends in an error or an interrupt.
    """
    workers = default_workers() if workers is None else workers
    if not 1 <= workers <= MAX_WORKERS:
        raise UserError(f"--workers must be in 1..{MAX_WORKERS} (got {show(workers)})")
    if spec in (None, "local"):
        if workers <= 1:
            yield None
            return
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=_context(), initializer=_worker_start, initargs=(os.getpid(),)
        )
        try:
            _start_all(pool, workers)
            yield pool
        except BaseException:
            stop_now(pool)
            raise
        pool.shutdown(wait=True)
        return
    if spec == "dask-local" or spec.startswith(("dask://", "tcp://")):
        from sim.experiments.dask_executor import dask_executor

        with dask_executor(spec, workers) as ex:
            yield ex
        return
    raise UserError(f"unknown executor '{show(spec)}'; allowed: local, dask-local, dask://HOST:PORT")
