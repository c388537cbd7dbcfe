"""For teachers: role sheets, play, exercises, the worksheet, the debrief and the dashboard."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sim.api.runs import _scenario, load_scenario, load_scenarios
from sim.errors import UserError, show
from sim.scenario import Scenario, find_scenarios


def roles(scenario: Scenario | str | os.PathLike):
    """Role sheets: a public brief and one confidential sheet per party (``negsim roles``)."""
    from sim.teaching.roles import role_sheets

    return role_sheets(_scenario(scenario, None, None))


def play(
    scenario: Scenario | str | os.PathLike,
    party: str,
    world: int = 0,
    seed: int | None = None,
    blind: bool = False,
    moves: str | os.PathLike | Iterable[str] | None = None,
    autopilot: bool = False,
    log: str | os.PathLike | None = None,
    read: Callable[[str], str] | None = None,
    write: Callable[[str], None] = print,
):
    """Play ``party`` in world ``world`` of the scenario's ensemble (``negsim play``).

    Answers come from ``moves`` (a file or lines), else from ``read`` (the terminal by default);
    with ``autopilot`` the model's own party answers and the moves that replay it are returned in
    the result. A finished game (not an autopilot one) is appended to the class log ``log``.
    Returns the :class:`~sim.teaching.play.GameResult`, or None if the moves ran out first.
    """
    from sim.teaching import play as game

    sc = _scenario(scenario, None, seed)
    game.check_world(sc, party, world)
    if moves is not None:
        lines = game.lines_of(moves) if isinstance(moves, str | os.PathLike) else moves
        read = game.scripted(lines, write)
    if log is not None and not autopilot:
        game.check_log(log)
    result = game.play(
        sc, party, world, read=read or game.terminal, write=write, blind=blind, autopilot=autopilot
    )
    if result is not None and log is not None and not autopilot:
        game.append_log(log, result)
        write(f"Logged to {log}")
    return result


def model_moves(scenario: Scenario | str | os.PathLike, party: str, world: int = 0, seed: int | None = None):
    """The moves that replay the model's own ``party`` in world ``world`` (a moves file's lines)."""
    from sim.teaching.play import model_moves as moves

    return moves(_scenario(scenario, None, seed), party, world)


DEFAULT_EXERCISES = Path("teaching") / "exercises"


def exercises(folder: str | os.PathLike = DEFAULT_EXERCISES):
    """The exercises under ``folder`` (``negsim exercise list``), in order."""
    from sim.teaching.exercises import find_exercises

    return find_exercises(folder)


def exercise(which: str | int, folder: str | os.PathLike = DEFAULT_EXERCISES):
    """One exercise by number or folder name (``negsim exercise show N``)."""
    from sim.teaching.exercises import pick

    return pick(exercises(folder), str(which))


def check_exercise(
    which: str | int,
    answer: Any,
    folder: str | os.PathLike = DEFAULT_EXERCISES,
    out: str | os.PathLike | None = None,
):
    """Run the model and check an answer (a value, or the path of an answer file with ``answer = ...``).

    Returns the verdict; with ``out``, the evidence plot is written there as ``check.png``.
    """
    from sim.teaching import exercises as ex

    item = exercise(which, folder)
    if isinstance(answer, Path):
        path = answer
        answer = ex.read_answer(path)["answer"]
        try:
            verdict = ex.check(item, answer)
        except UserError as e:  # a wrong kind of answer, or one the scenario cannot take
            raise UserError(f"{show(path, 200)}: answer: {e}") from None
    else:
        verdict = ex.check(item, answer)
    if out is not None and verdict.evidence:
        verdict.plot_path = ex.plot(verdict, Path(out) / "check.png")
    return verdict


def worksheet(
    paths: Iterable[str | os.PathLike] = ("scenarios",),
    key: bool = False,
    replications: int | None = None,
    seed: int | None = None,
    executor=None,
) -> str:
    """The prediction worksheet (Markdown) from the hypotheses of the scenarios under ``paths``.

    With ``key``, the teacher's key gives the model's verdict on each question beside what theory
    expects: the scenarios are compared (as ``negsim compare`` does, with ``replications`` worlds
    each, default the files'), each variant against the scenario it extends, which is run too when
    it is not among ``paths``.
    """
    from sim.api.runs import compare, extends_of
    from sim.teaching.worksheet import worksheet as make

    files = find_scenarios([Path(p) for p in paths])
    scenarios = load_scenarios(files)
    if not key:
        return make(scenarios)
    wanted = {Path(f).resolve() for f in files}
    parents = [p for sc in scenarios if sc.expect and (p := extends_of(sc.path)) is not None]
    extra = [p for p in dict.fromkeys(parents) if p not in wanted]
    runs = compare([*extra, *files], replications, seed, executor)
    counts = sorted({r.scenario.replications for r in runs.runs.values()})
    seeds = sorted({r.scenario.seed for r in runs.runs.values()})
    worlds = " or ".join(f"{n:,}" for n in counts) + " simulated worlds per scenario, seed "
    return make(scenarios, runs.checks, worlds + " or ".join(map(str, seeds)))


def debrief(
    log: str | os.PathLike | Iterable[str | os.PathLike],
    scenarios: Iterable[str | os.PathLike] = ("scenarios",),
    out: str | os.PathLike | None = None,
    pdf: bool = False,
):
    """The class's games (one class log of ``negsim play``, or several: one per laptop) against the
    simulated distribution. Each record keeps the log and line it came from. See :func:`debrief_games`.
    """
    from sim.teaching.play import read_log

    logs = [log] if isinstance(log, str | os.PathLike) else list(log)
    games = [{**g, "log": show(path, 200)} for path in logs for g in read_log(path)]
    return debrief_games(games, scenarios, out, pdf)


def debrief_games(
    games: list[dict[str, Any]],
    scenarios: Iterable[str | os.PathLike] = ("scenarios",),
    out: str | os.PathLike | None = None,
    pdf: bool = False,
):
    """The debrief of game records (as read from class logs, or from any store of them).

    Each scenario played is found by name among ``scenarios`` (files or folders) and must be the
    file the games were played on (same hash). Returns one Debrief per scenario; with ``out``, each
    writes its handout to ``out`` (``out/<scenario>`` when the games are of several scenarios), and
    with ``pdf`` prints it to PDF too.
    """
    from sim.teaching.debrief import debrief as make

    if not games:
        raise UserError("no games to debrief")
    files = {Path(f).stem: f for f in find_scenarios([Path(p) for p in scenarios])}
    names = list(dict.fromkeys(g["scenario"] for g in games))
    for name in names:  # every scenario is found before anything is written
        if name not in files:
            among = show(", ".join(map(str, scenarios)), 200)
            origin = games[[g["scenario"] for g in games].index(name)].get("log", "the games")
            raise UserError(f"{origin}: games of '{show(name)}', but no {show(name)}.toml among {among}")
    results = [
        make(load_scenario(files[name]), [g for g in games if g["scenario"] == name]) for name in names
    ]
    if out is not None:
        for name, result in zip(names, results, strict=True):
            result.write(Path(out) / name if len(names) > 1 else Path(out), pdf=pdf)
    return results


def classroom(scenario: str | os.PathLike = "scenarios/baseline.toml", replications: int = 300, **settings):
    """The dashboard's model: the scenario's ensemble under the sliders' settings, not yet stepped."""
    from sim.teaching.classroom import ClassroomModel

    return ClassroomModel(str(scenario), replications, **settings)


def dashboard_controls(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """The dashboard's sliders and selectors for a scenario (Mesa ``model_params``)."""
    from sim.teaching.classroom import controls

    return controls(scenario)


ASSETS_DIR = Path(".cache") / "solara-assets"


def dashboard_env(
    scenario: str | os.PathLike, replications: int = 300, assets: str | os.PathLike | None = None
) -> dict[str, str]:
    """The environment the dashboard server runs in: the scenario, the local front-end files, no
    telemetry. Without the asset folder (``.ci/solara-assets``) solara fetches them from its CDN."""
    assets = Path(assets) if assets is not None else ASSETS_DIR
    env = {
        **os.environ,
        "NEGSIM_DASHBOARD_SCENARIO": str(Path(scenario).resolve()),
        "NEGSIM_DASHBOARD_REPLICATIONS": str(replications),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
        "SOLARA_THEME_SHOW_BANNER": "false",  # the library's advertisement, a corner of the projector
        "MPLBACKEND": "Agg",
    }
    if assets.is_dir():
        env["SOLARA_ASSETS_PROXY_CACHE_DIR"] = str(assets.resolve())
    return env


def serve_dashboard(
    scenario: str | os.PathLike = "scenarios/baseline.toml",
    host: str = "127.0.0.1",
    port: int = 8765,
    replications: int = 300,
    assets: str | os.PathLike | None = None,
):
    """Start the dashboard server (a child process running ``solara run sim.dashboard``); returns it."""
    import subprocess
    import sys

    load_scenario(scenario)  # a bad file is reported here, not in the browser
    cmd = [sys.executable, "-m", "solara", "run", "sim.dashboard", "--host", host, "--port", str(port)]
    cmd += ["--no-open", "--production"]
    return subprocess.Popen(cmd, env=dashboard_env(scenario, replications, assets))


def fetch_dashboard_assets(dest: str | os.PathLike = ASSETS_DIR) -> list[Path]:
    """Fetch the dashboard's front-end files once (npm pack from the npm registry) into ``dest``."""
    from sim.teaching.assets import fetch

    return fetch(dest)


DEFAULT_CLASS_DB = Path("results") / "class.sqlite"


def serve_class(
    scenario: str | os.PathLike = "scenarios/baseline.toml",
    db: str | os.PathLike = DEFAULT_CLASS_DB,
    tables: int = 5,
    host: str = "0.0.0.0",
    port: int = 8000,
    world: int = 0,
    say=print,
    blind: bool = False,
) -> None:
    """Serve the class in the browser until Ctrl-C (``negsim class serve``): every move goes into
    the SQLite database ``db``; a database that exists is resumed where it stood. With ``blind``
    the envoy's page hides what the mediator believes of the others."""
    from sim.teaching.classserver.app import serve

    serve(load_scenario(scenario), Path(db), tables, host, port, world, say, blind)


def export_class_log(db: str | os.PathLike, out: str | os.PathLike) -> int:
    """Write the games of a class server's database as a JSON-lines class log; how many."""
    from sim.teaching.classdb import export, is_database

    if not is_database(db):
        raise UserError(f"{show(db, 200)}: not a class server's database")
    return export(db, out)
