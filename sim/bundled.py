"""The scenarios and seed documents that ship with negsim, wherever it is installed.

The repository keeps them at its top level (``scenarios/``, ``seeds/``). A wheel carries them inside
the package as ``sim/data/scenarios`` and ``sim/data/seeds``: ``pyproject.toml`` maps those two
package names onto the top-level folders (``[tool.setuptools.package-dir]``), so nothing is copied
by hand and the repository's layout stays as it is. An editable install (``pip install -e .``) runs
the package from the checkout, where ``sim/data`` holds no copies: the folders beside ``sim/`` are
used instead. Either way, the seeds sit in a ``seeds/`` folder beside ``scenarios/``, which is where
a scenario's quotes are looked up.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sim.errors import UserError

PACKAGE = Path(__file__).resolve().parent
KINDS = ("scenarios", "seeds")


def bundled(kind: str) -> Path:
    """The folder of bundled ``scenarios`` or ``seeds``: in the installed package, else the checkout."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    for folder in (PACKAGE / "data" / kind, PACKAGE.parent / kind):
        if folder.is_dir() and any(folder.iterdir()):
            return folder
    raise UserError(f"the bundled {kind} are missing from this installation of negsim (reinstall it)")


def scenarios_dir() -> Path:
    return bundled("scenarios")


def seeds_dir() -> Path:
    return bundled("seeds")


def copy_out(dest: str | Path) -> list[Path]:
    """Copy the bundled scenarios and seeds to ``dest/scenarios`` and ``dest/seeds`` for editing.

    Refuses to overwrite: if either folder exists in ``dest`` already, nothing is copied.
    """
    dest = Path(dest)
    targets = [dest / kind for kind in KINDS]
    if there := [t for t in targets if t.exists()]:
        raise UserError(f"{there[0]} exists already; choose an empty folder (nothing was copied)")
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{dest} is a file, not a folder")
    out = []
    for kind, target in zip(KINDS, targets, strict=True):
        source = bundled(kind)
        pattern = "*.toml" if kind == "scenarios" else "*"
        target.mkdir(parents=True)
        for f in sorted(source.glob(pattern)):
            if f.is_file() and not f.name.startswith((".", "_")):
                out.append(Path(shutil.copy(f, target / f.name)))
    return out
