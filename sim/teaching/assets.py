"""The dashboard's front-end files, kept locally so the classroom dashboard works offline.

Solara serves its browser code (the Vuetify app, RequireJS, Font Awesome, the grid layout) through a
proxy of the jsDelivr CDN, caching each file under ``SOLARA_ASSETS_PROXY_CACHE_DIR`` as
``<package>@<version>/<path>``. Those files are the contents of npm packages, so this module fills
the cache once, while online, with ``npm pack`` from the npm registry (the versions are read from
the installed solara), and ``negsim dashboard`` then points solara at it. Nothing is committed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from sim.errors import UserError

VERSION = r"@(\d+\.\d+\.\d+(?:-[\w.]+)?)/"


def wanted() -> list[str]:
    """``name@version`` of every npm package whose files the installed solara asks its CDN for: the
    page template's app, RequireJS and Font Awesome, and the grid layout its widgets import."""
    import solara.server.settings as settings

    root = Path(settings.__file__).parents[1]
    template = (root / "server" / "templates" / "solara.html.j2").read_text(encoding="utf-8")
    found = {
        f"@widgetti/solara-vuetify-app@{v}" for v in re.findall("solara-vuetify-app" + VERSION, template)
    }
    markdown = (root / "components" / "markdown.py").read_text(encoding="utf-8")
    found |= {f"requirejs@{v}" for v in re.findall("requirejs" + VERSION, markdown)}
    grid = (root / "widgets" / "vue" / "gridlayout.vue").read_text(encoding="utf-8")
    found |= {f"@widgetti/vue-grid-layout@{v}" for v in re.findall("vue-grid-layout" + VERSION, grid)}
    found.add(settings.Assets().fontawesome_path.strip("/").split("/")[0])
    return sorted(found)


def unpack(spec: str, dest: Path, npm: str) -> Path:
    """``npm pack`` one package and unpack it as ``dest/<name>@<version>/``."""
    target = dest / spec
    if target.is_dir() and any(target.iterdir()):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", spec, "--silent"], cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"npm pack {spec} failed: {done.stderr.strip().splitlines()[-1:]}")
        tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.move(Path(tmp) / "package", target)
    return target


def fetch(dest: str | Path) -> list[Path]:
    """Fill ``dest`` with the front-end files the dashboard needs (needs npm and the registry)."""
    npm = shutil.which("npm")
    if npm is None:
        raise UserError("npm is needed once to fetch the dashboard's front-end files (apt-get install npm)")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    return [unpack(spec, dest, npm) for spec in wanted()]


def complete(dest: str | Path) -> bool:
    dest = Path(dest)
    return dest.is_dir() and all((dest / spec).is_dir() for spec in wanted())
