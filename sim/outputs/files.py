"""Output files: CSV with fixed number formats, and what a manifest records to rerun a result."""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path
from typing import IO, Any

from sim.atomic import write_with

FLOAT_FORMAT = "%.6f"  # fixed, so equal numbers give equal bytes


def write_csv(path: str | Path, frame) -> Path:
    """A DataFrame as CSV with a fixed float format."""
    return write_with(path, lambda f: append_csv(f, frame, header=True))


def append_csv(f: IO[str], frame, header: bool) -> None:
    """Rows of a DataFrame onto an open CSV file (the header only if asked)."""
    frame.to_csv(f, index=False, header=header, float_format=FLOAT_FORMAT)


# Every distribution whose code touches the numbers or the plots: the engine, the tables, the
# intervals, the validation of scenario files, the figures.
DISTRIBUTIONS = ("negsim", "mesa", "numpy", "pandas", "scipy", "statsmodels", "pydantic", "matplotlib")
INTERVALS = "95% Wilson score intervals (statsmodels proportion_confint, method='wilson')"
DIFFERENCE_INTERVALS = (
    "95% Newcomb hybrid score intervals for differences of proportions "
    "(statsmodels confint_proportions_2indep, method='newcomb')"
)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out


def environment() -> dict[str, Any]:
    """Python, platform, library versions and, when run from a git checkout, its commit."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
        "versions": versions(),
    }


@functools.cache
def git_commit() -> str | None:
    """The commit of the checkout this package runs from (``+dirty`` if edited), or None."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None  # an installed package, not a checkout
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
