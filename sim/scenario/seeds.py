"""Seed documents: the sources a scenario quotes, found in a ``seeds/`` folder, and the quote check."""

from __future__ import annotations

import functools
from pathlib import Path

from sim.errors import ScenarioError
from sim.scenario.schema import Scenario, Source


def find_seed(name: str, scenario_path: Path) -> Path | None:
    """The seed file ``name``, looked up in ``seeds/`` beside the scenario or any folder above it."""
    return _find_seed(name, Path(scenario_path).resolve().parent)


@functools.lru_cache(maxsize=64)
def _find_seed(name: str, start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        candidate = folder / "seeds" / name
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=16)
def _seed_text(path: Path) -> str:
    """A seed document with its white space folded (seeds are read once per process)."""
    return _squash(path.read_text(encoding="utf-8"))


def _squash(text: str) -> str:
    return " ".join(text.split())


def check_quotes(sc: Scenario, path: Path) -> None:
    texts: dict[str, str] = {}
    for where, item in sc.sources():
        if item.source is None:
            continue
        seed = item.source.seed
        if seed not in texts:
            found = find_seed(seed, path)
            if found is None:
                raise ScenarioError(path, f"{where}.source.seed", f"no seed file 'seeds/{seed}'")
            texts[seed] = _seed_text(found)
        if _squash(item.source.quote) not in texts[seed]:
            raise ScenarioError(path, f"{where}.source.quote", f"quote not found verbatim in seeds/{seed}")


def seed_line(sc: Scenario, source: Source) -> int | None:
    """The line number (1-based) of the seed document that holds the quote."""
    found = find_seed(source.seed, Path(sc.path))
    if found is None:
        return None
    q = _squash(source.quote)
    for n, line in enumerate(_seed_lines(found), 1):
        if q in line:
            return n
    return None


@functools.lru_cache(maxsize=16)
def _seed_lines(path: Path) -> tuple[str, ...]:
    return tuple(_squash(line) for line in path.read_text(encoding="utf-8").splitlines())
