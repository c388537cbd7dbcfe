"""One BLAS thread per process.

Our array work is many small operations: BLAS threads only add start-up cost, and with several
worker processes they oversubscribe the cores and change results in the last bits. The variables
must be set before NumPy is first imported, so this module imports nothing heavy.
"""

import os

BLAS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def pin_threads() -> None:
    for var, value in BLAS_ENV.items():
        os.environ.setdefault(var, value)
