"""Output files: CSV with fixed number formats, and the versions a manifest records."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from sim.atomic import write_with

FLOAT_FORMAT = "%.6f"  # fixed, so equal numbers give equal bytes


def write_csv(path: str | Path, frame) -> Path:
    """A DataFrame as CSV with a fixed float format."""
    return write_with(path, lambda f: append_csv(f, frame, header=True))


def append_csv(f: IO[str], frame, header: bool) -> None:
    """Rows of a DataFrame onto an open CSV file (the header only if asked)."""
    frame.to_csv(f, index=False, header=header, float_format=FLOAT_FORMAT)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("negsim", "mesa", "numpy", "pandas"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out
