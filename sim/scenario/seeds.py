"""Seed documents: the sources a scenario quotes, read only from its project's ``seeds/``; the quote check."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from sim.errors import ScenarioError, show
from sim.scenario.files import MAX_SEED_BYTES, project_root, read_text, resolve_seed
from sim.scenario.schema import Scenario, Source


def find_seed(name: str, scenario_path: Path, root: str | Path | None = None) -> Path | None:
    """The seed file ``name`` in the ``seeds/`` of the scenario's project folder (None if absent)."""
    try:
        project = Path(root) if root is not None else project_root(scenario_path)
        return resolve_seed(name, Path(scenario_path), project, "source.seed")
    except ScenarioError:
        return None


def _seed_text(path: Path, scenario: Path, where: str) -> str:
    """A seed document with its white space folded (each version of a file is read once per process)."""
    st = os.stat(path)
    return _cached_text(path, st.st_mtime_ns, st.st_size, scenario, where)


@functools.lru_cache(maxsize=16)
def _cached_text(path: Path, mtime: int, size: int, scenario: Path, where: str) -> str:
    return _squash(read_text(path, MAX_SEED_BYTES, scenario, where, "seed file"))


def _squash(text: str) -> str:
    return " ".join(text.split())


def check_quotes(sc: Scenario, path: Path, root: Path) -> None:
    """Every ``source.quote`` is found verbatim (white space folded) in its seed document."""
    texts: dict[str, str] = {}
    for where, item in sc.sources():
        if item.source is None:
            continue
        seed = item.source.seed
        if seed not in texts:
            field = f"{where}.source.seed"
            found = resolve_seed(seed, path, root, field)
            texts[seed] = _seed_text(found, path, field)
        if _squash(item.source.quote) not in texts[seed]:
            raise ScenarioError(
                path, f"{where}.source.quote", f"quote not found verbatim in seeds/{show(seed)}"
            )


def seed_line(sc: Scenario, source: Source) -> int | None:
    """The line number (1-based) of the seed document that holds the quote."""
    found = find_seed(source.seed, Path(sc.path), getattr(sc, "_root", None))
    if found is None:
        return None
    q = _squash(source.quote)
    for n, line in enumerate(_seed_lines(found), 1):
        if q in line:
            return n
    return None


@functools.lru_cache(maxsize=16)
def _seed_lines(path: Path) -> tuple[str, ...]:
    text = read_text(path, MAX_SEED_BYTES, path, "", "seed file")
    return tuple(_squash(line) for line in text.splitlines())
