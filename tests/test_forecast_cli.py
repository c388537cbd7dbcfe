"""negsim update, calibrate, score --prequential and --posterior at the command line: outputs,
determinism across workers, and one-line errors (exit 2) for every mistake."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from test_hardening import one_line_error

from sim.api import prequential, update
from sim.cli import main
from sim.experiments import chunks, forks

BASE = "scenarios/baseline.toml"
REAL = "scenarios/observed/spring_2025.toml"
EXAMPLE = "scenarios/observed/example.toml"


def test_update_writes_the_forecast_before_and_after_and_the_draws(tmp_path, capsys):
    args = [
        "update",
        BASE,
        "--observed",
        EXAMPLE,
        "--as-of",
        "2025-05-01",
        "-n",
        "120",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "effective sample size" in out and "--replication" in out
    folder = tmp_path / "baseline" / "update"
    for name in ("steps.csv", "forecast.csv", "draws.csv", "best_worlds.csv", "forecast.png", "draws.png"):
        assert (folder / name).is_file(), name


def test_prequential_scores_sit_beside_the_static_forecast_and_the_uniform_reference(tmp_path, capsys):
    args = ["score", BASE, "--observed", REAL, "--prequential", "-n", "120", "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "prequential" in out and "static" in out and "uniform" in out
    assert (tmp_path / "baseline" / "score" / "prequential.png").is_file()


def test_same_seed_same_bytes_for_one_and_two_workers(tmp_path, monkeypatch):
    # Chunks of 64 worlds (the forked workers inherit it), so the two workers share the chunks and
    # resampled worlds copy parents from other chunks.
    monkeypatch.setattr(chunks, "CHUNK", 64)
    monkeypatch.setattr(forks, "CHUNK", 64)
    a, b = tmp_path / "a", tmp_path / "b"
    kw = dict(replications=150, ess_floor=0.9)
    update(BASE, EXAMPLE, "2025-05-01", out=a, **kw)
    prequential(BASE, EXAMPLE, out=a / "p", **kw)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as ex:
        update(BASE, EXAMPLE, "2025-05-01", executor=ex, out=b, **kw)
        prequential(BASE, EXAMPLE, executor=ex, out=b / "p", **kw)
    for name in ("steps.csv", "forecast.csv", "draws.csv", "best_worlds.csv", "p/prequential.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture
def project(tmp_path):
    obs = 'date = "2025-04-01"\nclass = "humanitarian"\nsource = "a report"\n'
    (tmp_path / "obs.toml").write_text('title = "t"\nnote = "n/a"\n[observations.a]\n' + obs)
    (tmp_path / "bad.toml").write_text('title = "t"\nnote = "n/a"\nreporting_error = 0\n[observations.a]\n')
    return tmp_path


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--as-of", "2026-01-01"], "outside"),
        (["--as-of", "2025-02-30"], "not a date"),
        (["--reporting-error", "0"], "reporting error"),
        (["--ess-floor", "1.5"], "effective sample size"),
        (["--budget", "10"], "budget"),
    ],
)
def test_update_mistakes_are_one_line(project, capsys, extra, says):
    args = ["update", str(Path(BASE).resolve()), "--observed", str(project / "obs.toml"), "-n", "50", *extra]
    assert says in one_line_error([*args, "--out", str(project / "out")], capsys)
    assert not (project / "out").exists()


def test_an_exhausted_budget_is_one_line(project, capsys):
    args = ["update", str(Path(BASE).resolve()), "--observed", str(project / "obs.toml"), "-n", "50"]
    line = one_line_error([*args, "--ess-floor", "1", "--budget", "50", "--out", str(project / "o")], capsys)
    assert "budget of 50 is spent" in line


def test_a_bad_observations_file_names_the_file_and_field(project, capsys):
    args = ["update", str(Path(BASE).resolve()), "--observed", str(project / "bad.toml"), "-n", "50"]
    line = one_line_error(args, capsys, names="bad.toml")
    assert "reporting_error" in line


@pytest.mark.parametrize(
    "params, says",
    [
        (["replications=1:5"], "not an assumption"),
        (["parties.russia.war.land.momentum"], "states no uncertainty"),
        (["truce.days=10:40"], "whole numbers"),
        (["nope.x"], "no field"),
        (["parties.russia.margin.mean", "--reporting-error", "0"], "reporting error must be above 0"),
        (["parties.russia.margin.mean", "--reporting-error", "nan"], "reporting error must be above 0"),
    ],
)
def test_calibrate_refuses_what_is_not_a_calibratable_assumption(project, capsys, params, says):
    args = [
        "calibrate",
        str(Path(BASE).resolve()),
        "--observed",
        str(project / "obs.toml"),
        "--params",
        *params,
    ]
    assert says in one_line_error([*args, "--out", str(project / "out")], capsys)
    assert not (project / "out").exists()


def test_a_history_is_resumed_only_under_the_acceptance_it_was_made_with(project, capsys):
    """A history made with the Brier tolerance (or another reporting error) is not continued by the
    exact method: the populations would mix two posteriors."""
    import json

    folder = project / "out" / "baseline" / "calibrate"
    folder.mkdir(parents=True)
    (folder / "history.db").write_bytes(b"kept")
    (folder / "manifest.json").write_text(json.dumps({"method": "reports", "reporting_error": 0.1}))
    args = ["calibrate", str(Path(BASE).resolve()), "--observed", str(project / "obs.toml")]
    args += ["--out", str(project / "out")]
    line = one_line_error(args, capsys)
    assert "made with --method reports (reporting error 0.1)" in line and "--fresh" in line
    (folder / "manifest.json").write_text(json.dumps({"command": "made before the exact method"}))
    assert "made with --method brier" in one_line_error([*args, "--reporting-error", "0.1"], capsys)
    assert (folder / "history.db").read_bytes() == b"kept"


POSTERIOR = (
    'format = 1\nscenario = "baseline"\nscenario_sha256 = "x"\nobservations = "o"\nobservation_ids = ["a"]\n'
    "worlds_per_particle = 1\nweights = [0.5, 0.3, 0.2]\n"
    '[parameters."parties.russia.margin.mean"]\nprior = "normal"\na = 0.1\nb = 0.05\nin_file = 0.1\n'
    "posterior_mean = 0.14\nposterior_sd = 0.13\ndraws = [0.02, 0.2, 0.4]\n"
)


def test_compare_gives_every_scenario_the_calibrated_assumptions(project, capsys):
    post = project / "posterior.toml"
    post.write_text(POSTERIOR)
    base, other = str(Path(BASE).resolve()), str(Path("scenarios/hardliners.toml").resolve())
    out = project / "results"
    assert main(["compare", base, other, "--posterior", str(post), "-n", "40", "--out", str(out)]) == 0
    assert "report.html" in capsys.readouterr().out
    for name in ("baseline", "hardliners"):
        manifest = json.loads((out / name / "manifest.json").read_text())
        assert manifest["posterior"]["file"] == "posterior.toml" and manifest["posterior"]["particles"] == 3
    # The calibrated baseline is the one run alone with the same posterior, world for world.
    alone = project / "alone"
    assert main(["run", base, "--posterior", str(post), "-n", "40", "--out", str(alone)]) == 0
    calibrated = (out / "baseline" / "outcomes.csv").read_bytes()
    assert (alone / "baseline" / "outcomes.csv").read_bytes() == calibrated
    assert main(["run", base, "-n", "40", "--out", str(project / "plain")]) == 0
    plain = (project / "plain" / "baseline" / "outcomes.csv").read_bytes()
    assert plain != calibrated


def test_a_posterior_of_means_and_sds_without_its_particles_is_refused(project, capsys):
    post = project / "posterior.toml"
    post.write_text(POSTERIOR.replace("draws = [0.02, 0.2, 0.4]\n", ""))
    for command in (["run", "-n", "5"], ["compare", "-n", "5"]):
        argv = [command[0], str(Path(BASE).resolve()), "--posterior", str(post), *command[1:]]
        line = one_line_error([*argv, "--out", str(project / "out")], capsys, names="posterior.toml")
        assert "parameters.parties.russia.margin.mean.draws: required field is missing" in line
    assert not (project / "out").exists()
    post.write_text(POSTERIOR.replace("[0.02, 0.2, 0.4]", "[0.02, -5, 0.4]"))  # a margin below 0
    line = one_line_error(["compare", str(Path(BASE).resolve()), "--posterior", str(post), "-n", "5"], capsys)
    assert "particle 1 does not make a valid baseline" in line


def test_a_bad_posterior_file_is_one_line(project, capsys):
    post = project / "posterior.toml"
    post.write_text(
        'format = 1\nscenario = "baseline"\nscenario_sha256 = "x"\nobservations = "o"\nobservation_ids = []\n'
        "worlds_per_particle = 1\nweights = [0.5, 0.4]\n"
        '[parameters."parties.russia.margin.mean"]\nprior = "normal"\na = 0.1\nb = 0.05\nin_file = 0.1\n'
        "posterior_mean = 0.1\nposterior_sd = 0.01\ndraws = [0.1, 0.1]\n"
    )
    line = one_line_error(["run", str(Path(BASE).resolve()), "--posterior", str(post), "-n", "5"], capsys)
    assert "posterior.toml" in line and "sum to 1" in line
    text = post.read_text().replace("[0.5, 0.4]", "[0.5, 0.5]").replace("russia.margin", "russia.nothing")
    post.write_text(text)
    line = one_line_error(["explain", str(Path(BASE).resolve()), "--posterior", str(post)], capsys)
    assert "parameters.parties.russia.nothing" in line
