"""pyabc's mapping sampler made deterministic: one seed per particle evaluation.

pyabc's ``MappingSampler`` reseeds each evaluation from the operating system's entropy; this one
seeds evaluation i of sampling call c with a number derived from the run's seed, c and i, and
gathers the results in the map's order, so the same seed gives the same populations whether the
map runs in this process, on local worker processes or on a Dask cluster. pyabc draws from NumPy's
global random state, one per process: where a map runs evaluations on threads of one process (a Dask
worker with several threads, a LocalCluster without processes) a lock keeps each evaluation's draws
its own, so threads take turns rather than share a stream. This module imports pyabc (slow to
import): import it only where a calibration runs.
"""

from __future__ import annotations

import functools
import random
import threading

import numpy as np
from pyabc.sampler import MappingSampler

_GLOBAL_STATE = threading.Lock()  # NumPy's and Python's global random state, per process


class SeededMappingSampler(MappingSampler):
    def __init__(self, seed: int, map_=map) -> None:
        super().__init__(map_=map_)
        self.seed, self.calls = seed, 0

    def map_function(self, simulate_one, seed):  # type: ignore[override]
        simulate_one = self.unpickle(simulate_one)
        with _GLOBAL_STATE:
            np.random.seed(seed)
            random.seed(seed)
            evaluations, sample = 0, self._create_empty_sample()
            while True:
                new = simulate_one()
                evaluations += 1
                sample.append(new)
                if new.accepted:
                    return sample, evaluations

    def sample_until_n_accepted(self, n, simulate_one, t, **kwargs):  # noqa: ARG002
        self.calls += 1
        seq = np.random.SeedSequence(self.seed, spawn_key=(self.calls,))
        seeds = [int(s) for s in np.random.default_rng(seq).integers(0, 2**31 - 1, size=n)]
        fn = functools.partial(self.map_function, self.pickle(simulate_one))
        results, evaluations = zip(*self.map_(fn, seeds), strict=True)
        self.nr_evaluations_ = sum(evaluations)
        sample = self._create_empty_sample()
        for r in results:
            sample += r
        return sample
