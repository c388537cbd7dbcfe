"""Compiled kernels: numba, imported and compiled only when a kernel is first called.

The engine's hot loops (the mediator's choice of text, the term sums of the value tables) are
written as plain Python loops over one world at a time and compiled by numba (``cache=True``: the
machine code is kept on disk, so a second process loads it instead of compiling again). Nothing is
imported or compiled when the package is imported, so ``negsim --help`` stays fast.

Where the cache lives: numba writes it beside the module (``__pycache__``). An installed package
may sit in a folder this user cannot write (a system site-packages, a read-only image); there the
cache goes to ``$XDG_CACHE_HOME/negsim/numba`` (``~/.cache/negsim/numba``), unless
``NUMBA_CACHE_DIR`` already names a place.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def cache_dir(package: Path = HERE, environ: dict[str, str] | None = None) -> str | None:
    """Where numba should keep compiled kernels: None for its default (beside the module)."""
    env = os.environ if environ is None else environ
    if env.get("NUMBA_CACHE_DIR"):
        return env["NUMBA_CACHE_DIR"]
    pycache = package / "__pycache__"
    if os.access(pycache if pycache.exists() else package, os.W_OK):
        return None
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "negsim" / "numba")


@functools.cache
def numba() -> Any:
    """The numba module, imported once with its cache directory set."""
    where = cache_dir()
    if where is not None:
        os.environ["NUMBA_CACHE_DIR"] = where  # numba reads it when first imported
    import numba as nb

    return nb


def kernel(fn: Callable) -> Callable:
    """Compile ``fn`` with numba (nopython, cached on disk) at its first call, not at import.

    A kernel may call other kernels of its module: they are compiled first and put in its place.
    ``fn`` itself stays available as ``.py_func`` (the same loops run by the interpreter).
    """
    compiled: Callable | None = None

    def compile_() -> Callable:
        nonlocal compiled
        if compiled is None:
            for name in fn.__code__.co_names:  # the kernels it calls, compiled, so numba can type them
                called = fn.__globals__.get(name)
                if getattr(called, "is_kernel", False):  # (a compiled one is typed by numba as it is)
                    fn.__globals__[name] = called.compile()
            compiled = numba().njit(cache=True, nogil=True)(fn)
        return compiled

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        return (compiled or compile_())(*args)

    call.is_kernel = True  # type: ignore[attr-defined]
    call.py_func = fn  # type: ignore[attr-defined]
    call.compile = compile_  # type: ignore[attr-defined]
    return call
