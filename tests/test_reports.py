"""Reports lead with the answer; the tool installs and runs anywhere; mistakes are one line.

A small comparison (the baseline and two variants, 200 worlds each) is run once through the command
line; the headline, the verdicts hook, the terminal table, the reference, the manifests and the
bundled scenarios are checked against it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.api import default_reference
from sim.cli import main
from sim.experiments import inert, sweeps
from sim.outputs import headline, plots, report
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
N = 200
ROOT_COPY = "Root copy"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """root.toml (the baseline under another name) and two files that extend it, with the seeds."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "seeds", root / "seeds")
    folder = root / "scenarios"
    folder.mkdir()
    text = BASELINE.read_text(encoding="utf-8").replace(
        'title = "Baseline: positions of 13 March 2025"', f'title = "{ROOT_COPY}"'
    )
    (folder / "root.toml").write_text(text, encoding="utf-8")
    (folder / "a_short.toml").write_text(
        'extends = "root.toml"\ntitle = "Short talks"\nsummary = "Eight weeks."\n'
        '[calendar]\nhorizon_days = 56\nassumption = "Eight weeks of talks."\n',
        encoding="utf-8",
    )
    (folder / "b_pressure.toml").write_text(
        (ROOT / "scenarios" / "us_pressure_russia.toml")
        .read_text(encoding="utf-8")
        .replace("baseline.toml", "root.toml"),
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def compared(project, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    assert main(["compare", str(project), "-n", str(N), "--workers", "1", "--out", str(out)]) == 0
    return out


def test_the_default_reference_is_the_scenario_the_others_extend(project, compared):
    scenarios = [load_scenario(f) for f in sorted(project.glob("*.toml"))]
    assert [sc.name for sc in scenarios][0] == "a_short"  # not first, not named baseline
    assert default_reference(scenarios) == ("root", "the scenario the others extend")
    summary = pd.read_csv(compared / "compare" / "summary.csv")
    assert summary["scenario"].iloc[0] == "root" and summary[summary.reference]["scenario"].unique() == [
        "root"
    ]
    html = (compared / "compare" / "report.html").read_text(encoding="utf-8")
    assert "Reference: root (the scenario the others extend)" in html
    assert json.loads((compared / "compare" / "manifest.json").read_text())["reference"] == "root"


def test_baseline_option_chooses_the_reference_and_the_report_says_so(project, tmp_path, capsys):
    code = main(
        [
            "compare",
            str(project),
            "-n",
            "50",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
            "--baseline",
            "a_short",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Reference: a_short (chosen with --baseline)" in " ".join(out.split())
    summary = pd.read_csv(tmp_path / "compare" / "summary.csv")
    assert summary["scenario"].iloc[0] == "a_short"
    assert main(["compare", str(project), "-n", "50", "--baseline", "nowhere"]) == 2
    assert "no such scenario among those compared" in capsys.readouterr().err


def test_the_headline_comes_before_the_first_figure(compared):
    html = (compared / "compare" / "report.html").read_text(encoding="utf-8")
    first_figure = html.index("<img")
    assert html.index('id="headline"') < html.index("Contents") < first_figure
    assert html.index("The question: ") < html.index("Any agreement (") < first_figure
    assert html.index('class="headline"') < first_figure  # the ranked table
    assert html.index("SHA-256") > first_figure and html.index('id="sources"') > first_figure
    markdown = (compared / "compare" / "report.md").read_text(encoding="utf-8")
    assert (
        markdown.index("## Headline")
        < markdown.index("The question: ")
        < markdown.index("Any agreement (")
        < markdown.index("![")
    )
    assert markdown.index("![") < markdown.index("## Appendix A")


def test_the_ranking_puts_the_reference_first_then_by_any_agreement(compared):
    summary = pd.read_csv(compared / "compare" / "summary.csv")
    totals = summary[summary.kind == "total"]
    assert totals["scenario"].tolist()[0] == "root"
    rest = totals.iloc[1:]["share"].tolist()
    assert rest == sorted(rest, reverse=True)
    html = (compared / "compare" / "report.html").read_text(encoding="utf-8")
    head = html[html.index('class="headline"') : html.index("<img")]
    order = [head.index(t) for t in (ROOT_COPY, *[t for t in totals.iloc[1:]["title"]])]
    assert order == sorted(order)


VERDICTS = [
    headline.Verdict(
        "b_pressure", "Sanctions on every refusal bring more deals", "held", "+30.0 [27.1, 32.8] pts"
    ),
    {
        "scenario": "a_short",
        "hypothesis": "Eight weeks are too few",
        "verdict": "contrary",
        "numbers": "-1 pts",
    },
    ("root", "Nothing changes", "inconclusive", ""),
]


def test_verdicts_lead_the_headline_when_there_are_any(compared, tmp_path):
    result = sim.compare([BASELINE], replications=50, seed=1)
    verdicts = headline.as_verdicts(VERDICTS)
    folder = report.write_compare(
        tmp_path, result._triples(), result.wall, result.executor, result.reference, result.why, verdicts
    )
    html = folder.read_text(encoding="utf-8")
    first_figure = html.index("<img")
    for v in verdicts:
        assert html.index(v.hypothesis) < first_figure
        assert f'<td class="verdict {v.verdict}">{v.verdict}</td>' in html
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.index("### Hypotheses") < md.index("![") and "**contrary**" in md
    head = headline.build(result._triples(), result.table, result.reference, result.why, verdicts)
    text = headline.headline_text(head, 80)
    assert "Hypotheses:" in text and "HELD" in text and "INCONCLUSIVE" in text
    assert text.index("Hypotheses:") < text.index("Scenario ")
    with pytest.raises(ValueError, match="verdict must be one of"):
        headline.Verdict("x", "y", "maybe")


def test_no_hypotheses_section_without_verdicts(tmp_path):
    folder = sim.compare([BASELINE], replications=50, seed=1, out=tmp_path) and tmp_path / "compare"
    assert "Hypotheses" not in (folder / "report.html").read_text(encoding="utf-8")


def test_the_variants_hypothesis_leads_the_headline(compared):
    html = (compared / "compare" / "report.html").read_text(encoding="utf-8")
    head = html[: html.index("<img")]
    assert "Hypotheses" in head and "b_pressure" in head


@pytest.mark.parametrize("columns", [80, 100])
def test_the_terminal_table_fits_its_width(project, tmp_path, capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["compare", str(project), "-n", "50", "--workers", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines if "report.html" not in line) <= columns  # a path is a path
    table = next(i for i, line in enumerate(lines) if line.startswith("Scenario"))
    assert lines[table + 2].startswith("root ")  # the reference first, then a rule
    flat = " ".join(out.split())
    # the scenario's own question comes first, named in words, before any other number
    assert flat.startswith("The question: Full ceasefire first in force by day 182 (2025-09-11)?")
    assert flat.index("The question:") < flat.index("Any agreement (") < flat.index("report.html")


def test_manifests_say_how_to_rerun(compared):
    m = json.loads((compared / "compare" / "manifest.json").read_text())
    assert m["command"].startswith("negsim compare ") and f"-n {N}" in m["command"]
    assert m["python"].count(".") == 2 and m["platform"]
    assert {"numpy", "pandas", "scipy", "statsmodels", "matplotlib", "mesa", "pydantic"} <= set(m["versions"])
    assert "Wilson" in m["intervals"] and "Newcomb" in m["difference_intervals"]
    assert set(m["compute_seconds"]) == {"root", "a_short", "b_pressure"}
    assert all(s > 0 for s in m["compute_seconds"].values())
    assert "git_commit" in m
    one = json.loads((compared / "root" / "manifest.json").read_text())
    assert "wall_seconds" not in one  # inside a comparison, no scenario has a wall time of its own
    assert one["compute_seconds"] == m["compute_seconds"]["root"]
    assert one["command"] == m["command"] and one["versions"] == m["versions"]


def test_a_run_records_its_own_wall_time(tmp_path):
    assert main(["run", str(BASELINE), "-n", "50", "--out", str(tmp_path)]) == 0
    m = json.loads((tmp_path / "baseline" / "manifest.json").read_text())
    assert 0 < m["compute_seconds"] <= m["wall_seconds"]


# ---------------------------------------------------------------- plots


def test_plots_take_the_time_axis_from_the_curve(compared):
    curve = pd.read_csv(compared / "root" / "curve.csv")
    assert plots.time_axis(curve) == ("day", "day")
    by_week = curve.rename(columns={"day": "week"})
    assert plots.time_axis(by_week) == ("week", "week")
    sc = load_scenario(BASELINE)
    fig = plots._curve_figure(sc, curve)
    assert fig.axes[0].get_xlabel().startswith("day of the talks")
    runs = {"root": (sc, by_week, pd.read_csv(compared / "root" / "shares.csv"))}
    fig = plots._curves_figure(runs, "root")
    assert fig.axes[0].get_xlabel() == "week"


def test_no_band_for_a_class_that_never_occurs(compared):
    sc = load_scenario(BASELINE)
    curve = pd.read_csv(compared / "root" / "curve.csv")
    never = curve["outcome"] == "partial_ceasefire"
    curve.loc[never, ["count", "share", "lo", "hi"]] = 0  # as if no world ever had one in force
    fig = plots._curve_figure(sc, curve)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert sc.classes["partial_ceasefire"].label not in labels
    assert sc.classes["full_ceasefire"].label in labels and "Any agreement" in labels


def test_parameters_are_named_in_the_scenarios_own_words():
    sc = load_scenario(BASELINE)
    assert (
        plots.parameter_words(sc, "levers.us_sanctions.strength")
        == "US sanctions and tariffs on Russia: strength"
    )
    assert (
        plots.parameter_words(sc, "parties.russia.war.land.mean")
        == f"{sc.parties['russia'].label}: daily value of fighting on Land front line mean"
    )
    assert "Prisoners" in plots.parameter_words(sc, "parties.russia.positions.prisoners.weight")
    assert plots.axis_label(sc, "dynamics.momentum.drift").endswith("(dynamics.momentum.drift)")


# ---------------------------------------------------------------- sweeps that warn


def test_a_sweep_over_a_parameter_the_scenario_never_reads_is_refused_before_any_work(tmp_path, capsys):
    code = main(
        ["sweep", str(BASELINE), "--vary", "levers.us_sanctions.strength=0:0.1:3", "--out", str(tmp_path)]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "levers.us_sanctions.max_uses is 0" in err and "never used" in err and "nothing was run" in err
    assert not any(tmp_path.iterdir())  # nothing written
    code = main(
        ["sweep", str(BASELINE), "--vary", "events.leaders_call.from_day=1:3:3", "--out", str(tmp_path)]
    )
    assert code == 2 and "probability is 0" in capsys.readouterr().err


def test_a_sweep_that_switches_the_parameter_on_somewhere_is_allowed():
    sc = load_scenario(BASELINE)
    vary = {"levers.us_sanctions.strength": [0.0, 0.1], "levers.us_sanctions.max_uses": [0, 3]}
    plan = sweeps.plan_sweep(sc, vary)
    inert.check_axes(sc, list(vary), [p.scenario for p in plan.points])  # no error
    assert inert.why_inert(sc, "parties.russia.war.land.mean") is None
    pressed = load_scenario(ROOT / "scenarios" / "us_pressure_russia.toml")
    assert inert.why_inert(pressed, "levers.us_sanctions.strength") is None


def test_the_sweep_marker_is_this_scenarios_value(tmp_path):
    sc = load_scenario(BASELINE)
    result = sim.sweep(sc, {"parties.russia.war.land.mean": [0.0, 0.002]}, replications=40)
    fig = plots._sweep_curves_figure(sc, result.frame, result.plan.axes[0])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("this scenario's value (") for label in labels)
    assert not any("baseline" in label for label in labels)
    assert fig.axes[0].get_xlabel().startswith(f"{sc.parties['russia'].label}: daily value of fighting on")


# ---------------------------------------------------------------- one-line errors


@pytest.mark.parametrize("command", ["run", "explain", "trace", "sweep"])
def test_a_folder_where_a_file_is_wanted_is_one_line(command, capsys):
    argv = [command, str(ROOT / "scenarios")]
    if command == "sweep":
        argv += ["--vary", "calendar.horizon_days=5:6:2"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("negsim: error: ") and "is a folder" in err and len(err.splitlines()) == 1


def test_an_unexpected_error_is_one_line(monkeypatch, capsys):
    import sim.api

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sim.api, "explain", broken)
    assert main(["explain", str(BASELINE)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "RuntimeError: boom" in err and "NEGSIM_TRACEBACK" in err


def test_an_unwritable_output_folder_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["run", str(BASELINE), "-n", "20", "--out", str(blocker)]) == 2  # a user's mistake
    err = capsys.readouterr().err.strip()
    assert err.startswith("negsim: error: ") and len(err.splitlines()) == 1


# ---------------------------------------------------------------- installs and runs anywhere


def test_compare_runs_the_installed_scenarios_from_an_empty_folder(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "100"}
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "compare", "-n", "200"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "scenarios installed with negsim" in proc.stderr
    bundled = {p.stem for p in (ROOT / "scenarios").glob("*.toml")}
    summary = pd.read_csv(tmp_path / "results" / "compare" / "summary.csv")
    assert set(summary["scenario"]) == bundled
    assert (tmp_path / "results" / "compare" / "report.html").is_file()


def test_init_copies_the_scenarios_and_seeds_out_for_editing(tmp_path, capsys):
    assert main(["init", str(tmp_path / "mine")]) == 0
    copied = sorted(p.name for p in (tmp_path / "mine" / "scenarios").glob("*.toml"))
    assert copied == sorted(p.name for p in (ROOT / "scenarios").glob("*.toml"))
    assert (tmp_path / "mine" / "seeds" / "2025-03-13-putin-ceasefire.txt").is_file()
    assert main(["validate", str(tmp_path / "mine" / "scenarios")]) == 0  # the quotes are found beside them
    assert main(["init", str(tmp_path / "mine")]) == 2  # never overwrites
    assert "exists already" in capsys.readouterr().err


def test_a_bundled_scenario_can_be_named_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "baseline", "-n", "20", "--out", "out"]) == 0
    assert (tmp_path / "out" / "baseline" / "shares.csv").is_file()


def test_the_wheel_ships_the_scenarios_the_seeds_and_every_subpackage():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = config["tool"]["setuptools"]
    listed = set(tool["packages"])
    found = {".".join(p.relative_to(ROOT).parts[:-1]) for p in (ROOT / "sim").rglob("__init__.py")}
    assert found <= listed, f"not packaged: {found - listed}"
    assert tool["package-dir"] == {"sim.data.scenarios": "scenarios", "sim.data.seeds": "seeds"}
    data = tool["package-data"]
    assert "py.typed" in data["sim"] and (ROOT / "sim" / "py.typed").is_file()
    for package, folder in tool["package-dir"].items():
        files = [p for p in (ROOT / folder).iterdir() if p.is_file()]
        assert files and all(any(p.match(g) for g in data[package]) for p in files), folder
    assert config["project"]["license"] == "MIT" and "MIT License" in (ROOT / "LICENSE").read_text()
    test_tools = {"pytest", "ruff", "hypothesis", "import-linter", "colorspacious"}
    assert not {d.split(">")[0].split("[")[0] for d in config["project"]["dependencies"]} & test_tools
