"""The engine's exponentials and powers, by the C library's math functions, element by element.

A seed must fix every number on any machine, and NumPy's own loops for ``exp``, ``expm1`` and
``power`` do not: NumPy picks them by the CPU at run time, and its AVX-512 loops round about one
result in twenty differently from the loops it runs on a CPU without AVX-512. The same seed then
gives other last bits, and a threshold crossed by a hair (a party's margin, a ratification's luck)
can turn a world's story. These functions call the C library's ``exp``, ``expm1``, ``log`` and ``pow``
(``math`` in a numba kernel compiles to them), whatever NumPy has chosen, so the readable array
path and the compiled kernels, and a CPU with AVX-512 and one without, give the same numbers.

What they still depend on: the C library itself (glibc rounds some results differently on a CPU
without fused multiply-add, which every x86-64 CPU since 2013 has).
"""

from __future__ import annotations

import math

import numpy as np

from sim.engine.jit import kernel


@kernel
def exp_each(x, out):  # fmt: skip
    """``out[i] = exp(x[i])`` by the C library."""
    for i in range(x.size):
        out[i] = math.exp(x[i])


@kernel
def expm1_each(x, out):  # fmt: skip
    """``out[i] = exp(x[i]) - 1`` by the C library (exact for small x)."""
    for i in range(x.size):
        out[i] = math.expm1(x[i])


@kernel
def log_each(x, out):  # fmt: skip
    """``out[i] = log(x[i])`` by the C library."""
    for i in range(x.size):
        out[i] = math.log(x[i]) if x[i] > 0.0 else (-math.inf if x[i] == 0.0 else math.nan)


@kernel
def pow_each(x, y, out):  # fmt: skip
    """``out[i] = x[i] ** y[i]`` by the C library."""
    for i in range(x.size):
        out[i] = math.pow(x[i], y[i])


def _flat(x: np.ndarray | float) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64).reshape(-1)


def exp(x: np.ndarray | float) -> np.ndarray:
    """e ** x, element by element (an array of x's shape)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape)
    exp_each(_flat(x), out.reshape(-1))
    return out


def expm1(x: np.ndarray | float) -> np.ndarray:
    """e ** x - 1, element by element (an array of x's shape)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape)
    expm1_each(_flat(x), out.reshape(-1))
    return out


def log(x: np.ndarray | float) -> np.ndarray:
    """The natural logarithm, element by element (-inf at 0, nan below, as NumPy's)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape)
    log_each(_flat(x), out.reshape(-1))
    return out


def power(x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
    """x ** y, element by element, broadcast as NumPy broadcasts."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    out = np.empty(x.shape)
    pow_each(_flat(x), _flat(y), out.reshape(-1))
    return out


def warm_up() -> None:
    """Compile (or load) this module's kernels."""
    one = np.zeros(1)
    exp_each(one, one.copy())
    expm1_each(one, one.copy())
    log_each(one, one.copy())
    pow_each(one, one, one.copy())
