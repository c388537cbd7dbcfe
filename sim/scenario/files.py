"""Which files a scenario may read, and reading them safely.

A scenario belongs to a project: its **root** is the nearest folder above the (real, symlinks
resolved) scenario file that holds a ``seeds/`` folder, or a folder the caller names (``--root``).
Without either, the root is the scenario's own folder. A scenario reads nothing outside its root:

- ``extends`` names a file relative to the scenario that says it; it must stay inside the root;
- ``source.seed`` names a file inside the root's ``seeds/``;
- an absolute path, a ``..`` that climbs out, or a symlink whose target lies outside is refused.

Every file read must be a regular file of at most :data:`MAX_SCENARIO_BYTES` (scenarios) or
:data:`MAX_SEED_BYTES` (seed documents), in UTF-8. An error names the scenario file that pointed to
the bad file and the field that did, never only the target, so the user knows what to edit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sim.errors import ScenarioError, UserError, show

MAX_SCENARIO_BYTES = 1_000_000  # a scenario file; the bundled ones are under 20 kB
MAX_SEED_BYTES = 10_000_000  # a seed document (an article, a transcript)
MAX_NAME_CHARS = 255  # a file name in extends or source.seed, as most file systems allow
SEEDS = "seeds"


def project_root(scenario: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """The folder a scenario may read from (see the module docstring)."""
    real = _real(Path(scenario), Path(scenario), "")
    if root is not None:
        named = _real(Path(root), Path(root), "")
        if not named.is_dir():
            raise UserError(f"--root {show(root)}: not a folder")
        if not _inside(real, named):
            raise UserError(f"{show(scenario)} is not inside --root {show(root)}")
        return named
    for folder in real.parents:
        if (folder / SEEDS).is_dir():
            return folder
    return real.parent


def _real(path: Path, scenario: Path, where: str) -> Path:
    """``path`` with every symlink resolved; an OS error (name too long, a loop) as a ScenarioError."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as e:
        raise ScenarioError(scenario, where, f"cannot resolve {show(path)}: {_reason(e)}") from None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _reason(e: BaseException) -> str:
    if isinstance(e, OSError) and e.errno is not None:
        return os.strerror(e.errno)
    return show(e, 120)


def _check_name(value: object, scenario: Path, where: str, example: str) -> str:
    """A relative file name: text, not empty, no NUL or control characters, not too long, not absolute."""
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(scenario, where, f"must be a file name such as '{example}'")
    if len(value) > MAX_NAME_CHARS:
        raise ScenarioError(
            scenario, where, f"file name of {len(value):,} characters; at most {MAX_NAME_CHARS}"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ScenarioError(scenario, where, f"file name {show(value)} holds control characters")
    if os.path.isabs(value) or value.startswith("~"):
        raise ScenarioError(
            scenario,
            where,
            f"{show(value)} is an absolute path; give a path relative to the scenario's folder",
        )
    return value


def resolve_extends(value: object, scenario: Path, root: Path) -> Path:
    """The parent file that ``scenario`` names in ``extends``, checked to lie inside ``root``."""
    name = _check_name(value, scenario, "extends", "baseline.toml")
    target = _real(scenario.parent / name, scenario, "extends")
    if not _inside(target, root):
        raise ScenarioError(
            scenario,
            "extends",
            f"'{show(name)}' is outside the project folder {show(root, 120)} "
            "(only files inside it may be extended)",
        )
    if not target.exists():
        raise ScenarioError(scenario, "extends", f"no such file '{show(name)}' beside this one")
    return target


def resolve_seed(value: object, scenario: Path, root: Path, where: str) -> Path:
    """The seed document ``value`` inside ``root/seeds/``; a ScenarioError naming ``scenario`` if not."""
    name = _check_name(value, scenario, where, "article.txt")
    seeds = root / SEEDS
    if not seeds.is_dir():
        raise ScenarioError(scenario, where, f"no {SEEDS}/ folder in the project folder {show(root, 120)}")
    real_seeds = _real(seeds, scenario, where)
    target = _real(seeds / name, scenario, where)
    if not (_inside(real_seeds, root) and _inside(target, real_seeds)) or target == real_seeds:
        raise ScenarioError(
            scenario, where, f"'{show(name)}' is not a file in {SEEDS}/ (seeds are read only there)"
        )
    if not target.exists():
        raise ScenarioError(scenario, where, f"no seed file '{SEEDS}/{show(name)}'")
    return target


def read_text(path: Path, limit: int, scenario: Path, where: str, what: str) -> str:
    """A regular file of at most ``limit`` bytes, decoded as UTF-8 (a BOM is dropped).

    Errors name ``scenario`` (the file that pointed here) and ``where`` (the field that did).
    """
    shown = show(path.name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ScenarioError(scenario, where, f"cannot read {what} '{shown}': {_reason(e)}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ScenarioError(scenario, where, f"{what} '{shown}' is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(scenario, where, f"{what} '{shown}' is not a regular file")
        if st.st_size > limit:
            raise ScenarioError(
                scenario, where, f"{what} '{shown}' is {st.st_size:,} bytes; at most {limit:,} are read"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise ScenarioError(scenario, where, f"cannot read {what} '{shown}': {_reason(e)}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ScenarioError(scenario, where, f"{what} '{shown}' is more than {limit:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ScenarioError(
            scenario, where, f"{what} '{shown}' is not UTF-8 text (byte 0x{data[e.start]:02x} on line {line})"
        ) from None
    return text.removeprefix("\ufeff")
