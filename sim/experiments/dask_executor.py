"""A Dask cluster as a ``concurrent.futures.Executor``: a LocalCluster, or an existing scheduler.

``Client.get_executor()`` speaks the same interface as a process pool, so the experiment code does
not know which one runs its chunks. Workers of a remote cluster need negsim installed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

from sim.errors import UserError, show
from sim.threads import BLAS_ENV


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise UserError("the Dask executors need Dask: pip install 'negsim[dask]'") from None
    return distributed


def scheduler_address(spec: str) -> str:
    """``dask://HOST:PORT`` or ``tcp://HOST:PORT`` -> the scheduler's ``tcp://`` address."""
    host = spec.removeprefix("dask://").removeprefix("tcp://")
    if not host or ":" not in host:
        raise UserError(f"executor '{show(spec)}': give the scheduler as dask://HOST:PORT")
    return f"tcp://{host}"


@contextmanager
def dask_executor(spec: str, workers: int) -> Iterator[Executor]:
    """``dask-local``: start a LocalCluster of ``workers`` processes; otherwise connect to SPEC."""
    distributed = _import_distributed()
    if spec == "dask-local":
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            env=BLAS_ENV,  # set before the worker process imports NumPy (see sim.threads)
        )
        with cluster, distributed.Client(cluster) as client:
            # pure=False: every chunk is its own task, never merged with an identical-looking one.
            yield client.get_executor(pure=False)
        return
    try:
        client = distributed.Client(scheduler_address(spec), timeout="10s")
    except OSError as e:
        raise UserError(f"cannot reach the Dask scheduler at {show(spec)}: {show(e, 200)}") from None
    with client:
        yield client.get_executor(pure=False)
